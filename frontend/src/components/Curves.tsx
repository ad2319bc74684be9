import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, get, type Series } from "../api/client";
import {
  BUCKETS, seriesLines, spliceDetail, type StepWindow, stepExtent, wantsDetail, zoomWindow,
} from "../lib/curves";
import { type ChartOption, PALETTE } from "../lib/echarts";
import { Chart } from "./Chart";

const ZOOM_SETTLE_MS = 200;

function fetchSeries(runIds: number[], metricKeys: string[], signal: AbortSignal,
                     w?: StepWindow): Promise<Series[]> {
  const range = w ? { step_min: Math.max(0, w.lo), step_max: Math.max(0, w.hi) } : {};
  return Promise.all(metricKeys.map((key) => get("/api/v1/series", {
    query: { run_id: runIds, key, buckets: BUCKETS, ...range }, signal })))
    .then((sets) => sets.flatMap((s) => s.series));
}

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

/** Overlaid curves of several runs and/or keys, with zoom. */
export function Curves({ runIds, metricKeys, names = {}, title, height = 260, version = 0,
                         testId }: CurvesProps) {
  const [series, setSeries] = useState<Series[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // The zoom (percent of the extent) and, when zoomed into downsampled buckets, the window
  // read again at full resolution.
  const [zoom, setZoom] = useState<{ start: number; end: number } | null>(null);
  const [detail, setDetail] = useState<Series[] | null>(null);
  const settle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const idsKey = runIds.join(",");
  const keysKey = metricKeys.join(",");

  useEffect(() => {
    setZoom(null);
    setDetail(null);
  }, [idsKey, keysKey]);

  useEffect(() => {
    if (!runIds.length || !metricKeys.length) {
      setSeries([]);
      return;
    }
    const controller = new AbortController();
    fetchSeries(runIds, metricKeys, controller.signal)
      .then((fetched) => {
        setSeries(fetched);
        setError(null);
      })
      .catch((exc: unknown) => {
        if (exc instanceof ApiError) setError(exc.message);
      });
    return () => controller.abort();
  }, [idsKey, keysKey, version]);

  const extent = useMemo(() => stepExtent(series ?? []), [series]);
  const stepWindow = zoom && extent ? zoomWindow(extent, zoom.start, zoom.end) : null;
  useEffect(() => {
    if (!series || !wantsDetail(series, extent, stepWindow)) {
      setDetail(null);
      return;
    }
    const controller = new AbortController();
    fetchSeries(runIds, metricKeys, controller.signal, stepWindow!)
      .then(setDetail)
      .catch(() => { /* the overview stays; a failed detail read is not worth an error */ });
    return () => controller.abort();
  }, [series, stepWindow?.lo, stepWindow?.hi]);
  useEffect(() => () => clearTimeout(settle.current), []);

  const shown = useMemo(() => (detail ? spliceDetail(series ?? [], detail) : series ?? []),
                        [series, detail]);
  const lines = useMemo(() => seriesLines(shown, names, metricKeys.length > 1,
                                          runIds.length > 1), [shown, names, keysKey, idsKey]);
  const option = useMemo<ChartOption>(() => ({
    animation: false,
    color: PALETTE,
    title: { text: title, left: 0, textStyle: { fontSize: 13, fontWeight: 600 } },
    tooltip: { trigger: "axis", valueFormatter: (v: number) => Number(v).toPrecision(4) },
    legend: { top: 0, right: 0, type: "scroll", width: "70%" },
    grid: { left: 56, right: 16, top: 36, bottom: 56 },
    xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 24, min: "dataMin",
             max: "dataMax" },
    yAxis: { type: "value", scale: true },
    dataZoom: [{ type: "inside", start: zoom?.start ?? 0, end: zoom?.end ?? 100 },
               { type: "slider", height: 16, bottom: 4, start: zoom?.start ?? 0,
                 end: zoom?.end ?? 100 }],
    series: lines.map((l) => ({ type: "line", name: l.name, data: l.points, showSymbol: false,
                                sampling: "lttb", lineStyle: { width: 1.5 } })),
  }), [lines, title, zoom]);

  const onZoom = (start: number, end: number) => {
    clearTimeout(settle.current);
    settle.current = setTimeout(() => setZoom({ start, end }), ZOOM_SETTLE_MS);
  };
  const points = lines.reduce((n, l) => n + l.points.length, 0);
  if (error) return <p class="error" role="alert">{title}: {error}</p>;
  const empty = series !== null && lines.every((l) => l.points.length === 0);
  return (
    <div class="curves">
      <Chart option={option} height={height} label={`${title} curves`} testId={testId}
             data={{ lines: lines.length, points, detail: detail ? 1 : 0 }} onZoom={onZoom} />
      {empty && <p class="muted">No points recorded for {metricKeys.join(", ")}.</p>}
    </div>
  );
}
