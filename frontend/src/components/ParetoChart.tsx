import { useMemo } from "preact/hooks";
import { type ChartOption } from "../lib/echarts";
import { bytes, ms, pct, si, sig } from "../lib/format";
import { type ParetoPoint, paretoView } from "../lib/pareto";
import type { Axis } from "../lib/summary";
import { Chart } from "./Chart";

export function axisFormatter(axis: Axis): (v: number) => string {
  // ECharts passes (value, index): each formatter takes the value only.
  return { fraction: (v: number) => pct(v, 1), bytes: (v: number) => bytes(v),
           count: (v: number) => si(v), ms: (v: number) => ms(v),
           number: (v: number) => sig(v) }[axis.kind];
}

interface Props {
  points: ParetoPoint[];
  /** the cost (x) and the metric (y), each with its goal */
  x: Axis;
  y: Axis;
  onOpen: (point: ParetoPoint) => void;
  onFinished?: () => void;
}

type Datum = [number, number, number];

/** The metric vs the chosen cost: mean ± std over seeds, the front highlighted and joined,
 * the dense baseline as a dashed reference line. */
export function ParetoChart({ points, x: axis, y, onOpen, onFinished }: Props) {
  const view = useMemo(() => paretoView(points), [points]);
  const fmtX = axisFormatter(axis);
  const fmtY = y.kind === "fraction" ? (v: number) => pct(v) : axisFormatter(y);
  const option = useMemo<ChartOption>(() => {
    const tooltip = (p: { data: Datum }) => {
      const point = points[p.data[2]];
      if (!point) return "";
      const std = (s: number, f: (v: number) => string) => (s > 0 ? ` ± ${f(s)}` : "");
      return [`<b>${point.variant}</b>${point.on_front ? " (on the front)" : ""}`,
              `${axis.label}: ${fmtX(point.x_mean)}${std(point.x_std, fmtX)}`,
              `${y.label}: ${fmtY(point.y_mean)}${std(point.y_std, fmtY)}`,
              `${point.seeds} seed(s), runs ${point.run_ids.join(", ")}`,
              "click to open the run"].join("<br/>");
    };
    return {
      animation: false,
      tooltip: { trigger: "item", confine: true },
      legend: { top: 0, right: 0, data: ["front", "dominated"] },
      grid: { left: 64, right: 24, top: 32, bottom: 48 },
      xAxis: { type: "value", name: axis.label, nameLocation: "middle", nameGap: 28, scale: true,
               inverse: false, axisLabel: { formatter: fmtX } },
      yAxis: { type: "value", scale: true, nameTextStyle: { align: "left" },
               name: `${y.label} (${y.goal === "max" ? "higher" : "lower"} is better)`,
               axisLabel: { formatter: axisFormatter(y) } },
      series: [
        { id: "front-line", type: "line", data: view.frontLine, silent: true, symbol: "none",
          lineStyle: { color: "#dc2626", width: 1.5, type: "solid" }, z: 1, tooltip: { show: false },
          markLine: view.baselineY == null ? undefined : {
            silent: true, symbol: "none", label: { formatter: "baseline", position: "insideEndTop" },
            lineStyle: { color: "#6b7280", type: "dashed" },
            data: [{ yAxis: view.baselineY }] } },
        { id: "errors", type: "custom", data: view.errorBars, silent: true, z: 2,
          tooltip: { show: false },
          renderItem: (_: unknown, api: { value: (i: number) => number;
                                          coord: (v: number[]) => number[] }) => {
            const [x, y, sx, sy] = [api.value(0), api.value(1), api.value(2), api.value(3)];
            const style = { stroke: "#9ca3af", lineWidth: 1 };
            const seg = (a: number[], b: number[]) => ({ type: "line", style,
              shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] } });
            const children = [];
            if (sy > 0) children.push(seg(api.coord([x, y - sy]), api.coord([x, y + sy])));
            if (sx > 0) children.push(seg(api.coord([x - sx, y]), api.coord([x + sx, y])));
            return { type: "group", children };
          } },
        { id: "dominated", name: "dominated", type: "scatter", data: view.dominated,
          symbolSize: 9, itemStyle: { color: "#60a5fa", opacity: 0.8 }, z: 3,
          tooltip: { formatter: tooltip }, large: view.dominated.length > 2000 },
        { id: "front", name: "front", type: "scatter", data: view.front, symbolSize: 13,
          itemStyle: { color: "#dc2626", borderColor: "#fff", borderWidth: 1 }, z: 4,
          tooltip: { formatter: tooltip } },
      ],
    };
  }, [view, axis, y]);

  return (
    <Chart option={option} height={360} testId="pareto-chart"
           label={`Pareto chart: ${y.label} against ${axis.label}, ${view.pointCount} variants, `
                  + `${view.front.length} on the front`}
           data={{ points: view.pointCount, front: view.front.length, y: y.label }}
           onFinished={onFinished}
           onClick={(p) => {
             const datum = p.data as Datum | undefined;
             const point = datum ? points[datum[2]] : undefined;
             if (point && (p.seriesId === "front" || p.seriesId === "dominated")) onOpen(point);
           }} />
  );
}
