import { useMemo } from "preact/hooks";
import { type ChartOption } from "../lib/echarts";
import { pct } from "../lib/format";
import { Chart } from "./Chart";

export interface SensitivityTable {
  levels: number[];
  layers: Record<string, number[]>;
  dense_accuracy?: number;
}

export function isSensitivity(value: unknown): value is SensitivityTable {
  const v = value as SensitivityTable | null;
  return v != null && typeof v === "object" && Array.isArray(v.levels)
    && v.layers != null && typeof v.layers === "object";
}

/** Layers × pruning levels, coloured by accuracy with that layer alone pruned. */
export function SensitivityHeatmap({ table }: { table: SensitivityTable }) {
  const option = useMemo<ChartOption>(() => {
    const layers = Object.keys(table.layers);
    const data: [number, number, number][] = [];
    let lo = 1;
    let hi = 0;
    layers.forEach((layer, y) => table.layers[layer]!.forEach((acc, x) => {
      data.push([x, y, acc]);
      lo = Math.min(lo, acc);
      hi = Math.max(hi, acc);
    }));
    return {
      animation: false,
      tooltip: { formatter: (p: { data: [number, number, number] }) =>
        `${layers[p.data[1]]} at ${pct(table.levels[p.data[0]] ?? 0, 0)}: ${pct(p.data[2])}` },
      grid: { left: 100, right: 90, top: 24, bottom: 40 },
      xAxis: { type: "category", name: "sparsity", nameLocation: "middle", nameGap: 26,
               data: table.levels.map((l) => pct(l, 0)) },
      yAxis: { type: "category", data: layers },
      visualMap: { min: lo, max: hi, calculable: true, orient: "vertical", right: 4, top: 16,
                   bottom: 16, itemHeight: 100,
                   inRange: { color: ["#b91c1c", "#fde68a", "#15803d"] },
                   formatter: (v: number) => pct(v, 1) },
      series: [{ type: "heatmap", data, label: { show: true, formatter: (p: { data: number[] }) =>
        pct(p.data[2] ?? 0, 1) } }],
    };
  }, [table]);
  const height = Math.max(180, 40 * Object.keys(table.layers).length + 60);
  return <Chart option={option} height={height} testId="sensitivity-heatmap"
                label={`Sensitivity heatmap: accuracy per layer and sparsity level`} />;
}
