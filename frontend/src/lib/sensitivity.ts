// The sensitivity table of a run summary, as the heatmap draws it.

import { defaultGoal, type Goal } from "./metric";

/** The primary metric with one layer pruned alone: ``layers[name][i]`` is at ``levels[i]``.
 * Tables written before ``metric`` existed hold accuracy, with ``dense_accuracy``. */
export interface SensitivityTable {
  levels: number[];
  layers: Record<string, number[]>;
  dense_value?: number;
  dense_accuracy?: number;
  metric?: string;
  goal?: string;
}

export interface SensitivityView {
  metric: string;
  goal: Goal;
  /** the metric of the unpruned model */
  dense: number | null;
  layers: string[];
  /** [level index, layer index, value] */
  cells: [number, number, number][];
  lo: number;
  hi: number;
  /** the colour scale from the lowest value to the highest: red is worse, green better */
  colors: string[];
}

const WORSE_TO_BETTER = ["#b91c1c", "#fde68a", "#15803d"];

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function sensitivityView(table: SensitivityTable): SensitivityView {
  const metric = typeof table.metric === "string" ? table.metric : "accuracy";
  const goal = table.goal === "min" || table.goal === "max" ? table.goal : defaultGoal(metric);
  const layers = Object.keys(table.layers);
  const cells: [number, number, number][] = [];
  let lo = Infinity;
  let hi = -Infinity;
  layers.forEach((layer, y) => table.layers[layer]!.forEach((value, x) => {
    if (finite(value) == null) return;
    cells.push([x, y, value]);
    lo = Math.min(lo, value);
    hi = Math.max(hi, value);
  }));
  return {
    metric, goal, layers, cells,
    dense: finite(table.dense_value) ?? finite(table.dense_accuracy),
    lo: cells.length ? lo : 0, hi: cells.length ? hi : 0,
    colors: goal === "max" ? WORSE_TO_BETTER : [...WORSE_TO_BETTER].reverse(),
  };
}
