// Curve data: series (downsampled buckets) to chart lines, and the zoom detail: when a chart
// is zoomed into part of a long run, that window is fetched again at full resolution and
// spliced into the overview, so zooming shows real points instead of stretched buckets.

import type { Series } from "../api/client";

export interface Line {
  name: string;
  points: [number, number][];
}

export interface StepWindow {
  lo: number;
  hi: number;
}

/** The buckets of one request (the overview asks for this many). */
export const BUCKETS = 1000;

/** One line per (run, key): the last value of each bucket at its last step. */
export function seriesLines(series: Series[], names: Record<number, string>,
                            multiKey: boolean, multiRun: boolean): Line[] {
  return series.map((s) => {
    const who = names[s.run_id] ?? `run ${s.run_id}`;
    const name = multiRun && multiKey ? `${who} ${s.key}` : multiRun ? who : s.key;
    return { name, points: s.buckets.map((b) => [b.step_max, b.last] as [number, number]) };
  });
}

/** The first and last step over all series, or null when there are none. */
export function stepExtent(series: Series[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    if (!s.buckets.length) continue;
    lo = Math.min(lo, s.buckets[0]!.step_min);
    hi = Math.max(hi, s.buckets[s.buckets.length - 1]!.step_max);
  }
  return lo <= hi ? [lo, hi] : null;
}

/** The steps a dataZoom window (start and end in percent of the extent) shows. */
export function zoomWindow(extent: [number, number], start: number, end: number): StepWindow {
  const span = extent[1] - extent[0];
  return { lo: Math.floor(extent[0] + (span * start) / 100),
           hi: Math.ceil(extent[0] + (span * end) / 100) };
}

/** Whether the window deserves a finer read: some series in it was downsampled, and the
 * window is a real zoom (under 90% of the extent), not the whole chart. */
export function wantsDetail(series: Series[], extent: [number, number] | null,
                            w: StepWindow | null): boolean {
  if (!extent || !w) return false;
  const span = extent[1] - extent[0] + 1;
  if (w.hi - w.lo + 1 >= 0.9 * span) return false;
  return series.some((s) => s.buckets.some((b) => b.count > 1 && b.step_max >= w.lo
                                                  && b.step_min <= w.hi));
}

/** Each overview series with the detail's buckets in place of its own inside the window.
 * Overview buckets that overlap the window are dropped where the detail covers them. */
export function spliceDetail(overview: Series[], detail: Series[]): Series[] {
  const byKey = new Map(detail.map((d) => [`${d.run_id}\u0000${d.key}`, d]));
  return overview.map((s) => {
    const d = byKey.get(`${s.run_id}\u0000${s.key}`);
    if (!d || !d.buckets.length) return s;
    const lo = d.buckets[0]!.step_min;
    const hi = d.buckets[d.buckets.length - 1]!.step_max;
    const before = s.buckets.filter((b) => b.step_max < lo);
    const after = s.buckets.filter((b) => b.step_min > hi);
    return { ...s, buckets: [...before, ...d.buckets, ...after] };
  });
}
