// Turning the API's Pareto points into what the chart draws.

import type { Schemas } from "../api/client";
import type { Axis } from "./summary";

/** One variant, seeds aggregated: the API's type, generated from its OpenAPI document. */
export type ParetoPoint = Schemas["ParetoPoint"];

export interface ParetoView {
  /** every variant, as [x, y, index into points] */
  dominated: [number, number, number][];
  front: [number, number, number][];
  /** the front as a staircase-free polyline in x order */
  frontLine: [number, number][];
  /** error bars: [x, y, xStd, yStd] for variants with more than one seed */
  errorBars: [number, number, number, number][];
  /** mean y (the metric) of the dense baseline(s), drawn as a reference line */
  baselineY: number | null;
  pointCount: number;
}

/** Split points into front and dominated, and find the baseline reference. */
export function paretoView(points: ParetoPoint[]): ParetoView {
  const dominated: [number, number, number][] = [];
  const front: [number, number, number][] = [];
  const errorBars: [number, number, number, number][] = [];
  const baselines: number[] = [];
  points.forEach((p, i) => {
    (p.on_front ? front : dominated).push([p.x_mean, p.y_mean, i]);
    if (p.seeds > 1 && (p.x_std > 0 || p.y_std > 0)) {
      errorBars.push([p.x_mean, p.y_mean, p.x_std, p.y_std]);
    }
    if (p.kind === "baseline") baselines.push(p.y_mean);
  });
  const frontLine = front.map(([x, y]) => [x, y] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const baselineY = baselines.length
    ? baselines.reduce((a, b) => a + b, 0) / baselines.length : null;
  return { dominated, front, frontLine, errorBars, baselineY, pointCount: points.length };
}

/** The recipe of a variant: "agp[final_sparsity=0.9]" (or "agp/...") -> "agp";
 * a baseline -> "baseline". Recipe names cannot contain "[" or "/". */
export function recipeOf(variant: string, kind?: string): string {
  if (kind === "baseline") return "baseline";
  return variant.split(/[[/]/, 1)[0] ?? variant;
}

export interface ParetoQuery {
  x: string;
  y: string;
  x_goal: Axis["goal"];
  y_goal: Axis["goal"];
}

/** The API's query for one axis pair, each optimised in its own direction. */
export function paretoQuery(x: Axis, y: Axis): ParetoQuery {
  return { x: x.path, y: y.path, x_goal: x.goal, y_goal: y.goal };
}
