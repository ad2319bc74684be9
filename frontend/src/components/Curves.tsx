import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, get, type Series } from "../api/client";
import { type ChartOption, PALETTE } from "../lib/echarts";
import { Chart } from "./Chart";

export interface CurvesProps {
  runIds: number[];
  /** one or more metric keys drawn in the same chart */
  metricKeys: string[];
  names?: Record<number, string>;
  title: string;
  height?: number;
  /** bump to refetch (live updates) */
  version?: number;
  testId?: string;
}

export interface Line {
  name: string;
  points: [number, number][];
}

/** One line per (run, key): the last value of each bucket at its last step. */
export function seriesLines(series: Series[], names: Record<number, string>,
                            multiKey: boolean, multiRun: boolean): Line[] {
  return series.map((s) => {
    const who = names[s.run_id] ?? `run ${s.run_id}`;
    const name = multiRun && multiKey ? `${who} ${s.key}` : multiRun ? who : s.key;
    return { name, points: s.buckets.map((b) => [b.step_max, b.last] as [number, number]) };
  });
}

/** Overlaid curves of several runs and/or keys, with zoom. */
export function Curves({ runIds, metricKeys, names = {}, title, height = 260, version = 0,
                         testId }: CurvesProps) {
  const [series, setSeries] = useState<Series[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const idsKey = runIds.join(",");
  const keysKey = metricKeys.join(",");

  useEffect(() => {
    if (!runIds.length || !metricKeys.length) {
      setSeries([]);
      return;
    }
    const controller = new AbortController();
    Promise.all(metricKeys.map((key) => get("/api/v1/series", {
      query: { run_id: runIds, key, buckets: 1000 }, signal: controller.signal })))
      .then((sets) => {
        setSeries(sets.flatMap((s) => s.series));
        setError(null);
      })
      .catch((exc: unknown) => {
        if (exc instanceof ApiError) setError(exc.message);
      });
    return () => controller.abort();
  }, [idsKey, keysKey, version]);

  const lines = useMemo(() => seriesLines(series ?? [], names, metricKeys.length > 1,
                                          runIds.length > 1), [series, names, keysKey, idsKey]);
  const option = useMemo<ChartOption>(() => ({
    animation: false,
    color: PALETTE,
    title: { text: title, left: 0, textStyle: { fontSize: 13, fontWeight: 600 } },
    tooltip: { trigger: "axis", valueFormatter: (v: number) => Number(v).toPrecision(4) },
    legend: { top: 0, right: 0, type: "scroll", width: "70%" },
    grid: { left: 56, right: 16, top: 36, bottom: 56 },
    xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 24, min: "dataMin" },
    yAxis: { type: "value", scale: true },
    dataZoom: [{ type: "inside" }, { type: "slider", height: 16, bottom: 4 }],
    series: lines.map((l) => ({ type: "line", name: l.name, data: l.points, showSymbol: false,
                                sampling: "lttb", lineStyle: { width: 1.5 } })),
  }), [lines, title]);

  if (error) return <p class="error" role="alert">{title}: {error}</p>;
  const empty = series !== null && lines.every((l) => l.points.length === 0);
  return (
    <div class="curves">
      <Chart option={option} height={height} label={`${title} curves`} testId={testId}
             data={{ lines: lines.length }} />
      {empty && <p class="muted">No points recorded for {metricKeys.join(", ")}.</p>}
    </div>
  );
}
