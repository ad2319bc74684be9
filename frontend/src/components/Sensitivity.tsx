import { useMemo } from "preact/hooks";
import { type ChartOption } from "../lib/echarts";
import { pct, sig } from "../lib/format";
import { formatMetric, isFraction } from "../lib/metric";
import { sensitivityView, type SensitivityTable } from "../lib/sensitivity";
import { Chart } from "./Chart";

export type { SensitivityTable };

export function isSensitivity(value: unknown): value is SensitivityTable {
  const v = value as SensitivityTable | null;
  return v != null && typeof v === "object" && Array.isArray(v.levels)
    && v.layers != null && typeof v.layers === "object";
}

/** Layers × pruning levels, coloured by the primary metric with that layer alone pruned:
 * green is better, whichever way the metric goes. */
export function SensitivityHeatmap({ table }: { table: SensitivityTable }) {
  const view = useMemo(() => sensitivityView(table), [table]);
  const option = useMemo<ChartOption>(() => {
    const fmt = (v: number) => (isFraction(view.metric) ? pct(v, 1) : sig(v, 3));
    return {
      animation: false,
      tooltip: { formatter: (p: { data: [number, number, number] }) =>
        `${view.layers[p.data[1]]} at ${pct(table.levels[p.data[0]] ?? 0, 0)}: `
        + `${view.metric} ${fmt(p.data[2])}` },
      grid: { left: 100, right: 90, top: 24, bottom: 40 },
      xAxis: { type: "category", name: "sparsity", nameLocation: "middle", nameGap: 26,
               data: table.levels.map((l) => pct(l, 0)) },
      yAxis: { type: "category", data: view.layers },
      visualMap: { min: view.lo, max: view.hi, calculable: true, orient: "vertical", right: 4,
                   top: 16, bottom: 16, itemHeight: 100, inRange: { color: view.colors },
                   formatter: fmt },
      series: [{ type: "heatmap", data: view.cells, label: { show: true,
        formatter: (p: { data: number[] }) => fmt(p.data[2] ?? 0) } }],
    };
  }, [view, table]);
  const height = Math.max(180, 40 * view.layers.length + 60);
  const dense = view.dense == null ? ""
    : `; dense ${view.metric} ${formatMetric(view.metric, view.dense)}`;
  return (
    <>
      <p class="muted small" data-testid="sensitivity-metric">
        {view.metric} with one layer pruned ({view.goal === "max" ? "higher" : "lower"} is
        better){dense}</p>
      <Chart option={option} height={height} testId="sensitivity-heatmap"
             data={{ metric: view.metric }}
             label={`Sensitivity heatmap: ${view.metric} per layer and sparsity level`} />
    </>
  );
}
