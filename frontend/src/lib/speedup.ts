// Speedups with their 95% interval. A speedup whose interval contains 1.0 is noise: it reads
// "≈1.0× (noise)", not the gain (or loss) its ratio alone would claim. Summaries without an
// interval (a baseline, whose 1.0 is a definition; older workers) show the bare ratio.

import type { Schemas } from "../api/client";
import { ratio } from "./format";
import { getPath, numberAt } from "./summary";

export type SpeedupInterval = Schemas["SpeedupInterval"];

export interface SpeedupReading {
  value: number;
  interval: SpeedupInterval | null;
}

export const NOISE_TEXT = "≈1.0× (noise)";

const SPEEDUP_PATH = /(^|\.)speedup\.([^.]+)\.([^.]+)$/;

/** Whether a summary path is a speedup ("summary.speedup.torch.64"). */
export function isSpeedupPath(path: string): boolean {
  return SPEEDUP_PATH.test(path);
}

function isInterval(value: unknown): value is SpeedupInterval {
  const v = value as Partial<SpeedupInterval> | null;
  return v != null && typeof v === "object" && typeof v.lo === "number"
    && typeof v.hi === "number" && typeof v.noise === "boolean";
}

/** The speedup at ``path`` (under a run, "summary.speedup.torch.64"; under a summary,
 * "speedup.torch.64") and its interval, or null when there is no speedup there. */
export function speedupAt(root: unknown, path: string): SpeedupReading | null {
  const value = numberAt(root, path);
  if (value == null) return null;
  const interval = getPath(root, path.replace(SPEEDUP_PATH, "$1speedup_interval.$2.$3"));
  return { value, interval: isInterval(interval) ? interval : null };
}

/** "1.83×", or "≈1.0× (noise)" when the interval contains 1.0; "–" without a speedup. */
export function speedupText(reading: SpeedupReading | null): string {
  if (reading == null) return ratio(null);
  return reading.interval?.noise ? NOISE_TEXT : ratio(reading.value);
}

/** The interval alone: "1.71–1.95×"; "–" without one. */
export function intervalRange(reading: SpeedupReading | null): string {
  const iv = reading?.interval;
  return iv ? `${iv.lo.toFixed(2)}–${iv.hi.toFixed(2)}×` : ratio(null);
}

/** A tooltip: the measured ratio, its interval and what it means; "" without an interval. */
export function intervalTitle(reading: SpeedupReading | null): string {
  if (reading?.interval == null) return "";
  const meaning = reading.interval.noise ? "contains 1.0: no measurable change in speed"
    : reading.interval.lo > 1 ? "faster than the dense model" : "slower than the dense model";
  return `measured ${ratio(reading.value)}; 95% interval ${intervalRange(reading)} (${meaning})`;
}

/** The speedup to rank runs by: noise counts as 1.0, since its timings cannot tell it from
 * no change. */
export function rankedSpeedup(reading: SpeedupReading | null): number | null {
  if (reading == null) return null;
  return reading.interval?.noise ? 1 : reading.value;
}

export interface SpeedupCell {
  runtime: string;
  batch: string;
  reading: SpeedupReading;
}

/** A summary's best speedup over every runtime and batch size, noise counted as 1.0 (so a
 * clear 1.3× beats a noisy 1.4×); null when it has none. */
export function bestSpeedup(summary: unknown): SpeedupCell | null {
  const table = getPath(summary, "speedup");
  if (table == null || typeof table !== "object") return null;
  const cells = Object.entries(table as Record<string, unknown>).flatMap(([runtime, byBatch]) =>
    Object.keys(byBatch != null && typeof byBatch === "object" ? byBatch : {}).map((batch) => ({
      runtime, batch, reading: speedupAt(summary, `speedup.${runtime}.${batch}`) })))
    .filter((c): c is SpeedupCell => c.reading != null);
  const rank = (c: SpeedupCell) => rankedSpeedup(c.reading) ?? 0;
  cells.sort((a, b) => rank(b) - rank(a) || b.reading.value - a.reading.value);
  return cells[0] ?? null;
}
