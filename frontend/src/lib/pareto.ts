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
  /** mean accuracy of the dense baseline(s), drawn as a reference line */
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

/** The API's query for one axis pair (y is accuracy, maximised). */
export function paretoQuery(axis: Axis):
    { x: string; y: string; x_goal: "min" | "max"; y_goal: "min" | "max" } {
  return { x: axis.path, y: "summary.accuracy", x_goal: axis.goal, y_goal: "max" };
}
