// Reading values out of run summaries by dotted path, and listing the numeric fields.

import { type MetricRef, sweepMetric } from "./metric";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Summary = Record<string, unknown>;

/** ``get(run, "summary.latency_ms.torch.64.p50")``: the value at a dotted path, or undefined. */
export function getPath(root: unknown, path: string): unknown {
  let value: unknown = root;
  for (const key of path.split(".")) {
    if (value == null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The number at ``path``, or null when missing or not a finite number. */
export function numberAt(root: unknown, path: string): number | null {
  const v = getPath(root, path);
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

// Blocks whose numbers are not fields of their own: per-layer and per-machine detail, and
// speedup intervals (shown with the speedup they belong to).
const UNLISTED = new Set(["layer_sparsity", "sensitivity", "hardware", "speedup_interval"]);

/** Every dotted path to a number under ``value`` (prefixed), in first-seen order. */
export function numericPaths(value: unknown, prefix: string, into: Set<string> = new Set(),
                             depth = 6): Set<string> {
  if (depth < 0 || value == null || typeof value !== "object" || Array.isArray(value)) return into;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const path = `${prefix}.${key}`;
    if (typeof child === "number") into.add(path);
    else if (!UNLISTED.has(key)) {
      numericPaths(child, path, into, depth - 1);
    }
  }
  return into;
}

/** The summary fields of many runs, looking at a bounded sample (10,000 runs stay fast);
 * runs without a summary yet (queued) do not use up the sample. */
export function summaryFields(summaries: Iterable<unknown>, sample = 200): string[] {
  const seen = new Set<string>();
  let n = 0;
  for (const s of summaries) {
    if (s == null || typeof s !== "object") continue;
    numericPaths(s, "summary", seen);
    if (++n >= sample) break;
  }
  return [...seen];
}

/** What a page reads from many summaries, and a key that changes only when it does (so memos
 * that depend on it do not rerun as every page of runs or live update lands). */
export interface SummaryShape {
  fields: string[];
  metric: MetricRef | null;
  key: string;
}

export function summaryShape(summaries: readonly unknown[], sample = 200): SummaryShape {
  const fields = summaryFields(summaries, sample);
  const metric = sweepMetric(summaries, sample);
  const key = [...fields].sort().join(",")
    + (metric ? `|${metric.name}:${metric.goal}:${metric.legacy ? "legacy" : ""}` : "");
  return { fields, metric, key };
}

export interface Axis {
  /** summary path, as the API's pareto and sort parameters take it */
  path: string;
  label: string;
  goal: "min" | "max";
  /** how its values read: a fraction as a percentage, a plain number to 4 significant digits */
  kind: "fraction" | "bytes" | "count" | "ms" | "number";
}

/** The x axes a Pareto chart offers: sparsity, stored size, MACs, p50 per runtime and batch. */
export function paretoAxes(fields: string[]): Axis[] {
  const axes: Axis[] = [
    { path: "summary.sparsity", label: "sparsity", goal: "max", kind: "fraction" },
    { path: "summary.size_bytes.stored", label: "stored size", goal: "min", kind: "bytes" },
    { path: "summary.macs.effective", label: "MACs (effective)", goal: "min", kind: "count" },
  ];
  const latency = fields
    .map((f) => /^summary\.latency_ms\.([^.]+)\.([^.]+)\.p50$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => (a[1]! === b[1]! ? Number(a[2]) - Number(b[2]) : a[1]! < b[1]! ? -1 : 1));
  for (const m of latency) {
    axes.push({ path: m[0], label: `p50 latency, ${m[1]}, batch ${m[2]}`, goal: "min",
                kind: "ms" });
  }
  return axes;
}

/** A short human label for a summary path: "summary.latency_ms.torch.64.p50" -> "p50 torch@64";
 * ``metric`` names the primary metric ("summary.metric.value" -> "macro_f1 (primary)"). */
export function fieldLabel(path: string, metric?: string | null): string {
  const p = path.replace(/^summary\./, "");
  const primary = /^metric\.(value|baseline|drop)$/.exec(p);
  if (primary) {
    const what = primary[1] === "value" ? "" : ` ${primary[1]}`;
    return `${metric ?? "metric"}${what} (primary)`;
  }
  const named = /^(baseline_)?metrics\.([^.]+)$/.exec(p);
  if (named) return `${named[2]}${named[1] ? " baseline" : ""}`;
  const lat = /^latency_ms\.([^.]+)\.([^.]+)\.(p\d+)$/.exec(p);
  if (lat) return `${lat[3]} ${lat[1]}@${lat[2]} (ms)`;
  const sp = /^speedup\.([^.]+)\.([^.]+)$/.exec(p);
  if (sp) return `speedup ${sp[1]}@${sp[2]}`;
  return p.replace(/_/g, " ");
}

/** Every warning of a run summary: its own (``warnings``) and its quantization block's. */
export function summaryWarnings(summary: unknown): string[] {
  const strings = (value: unknown): string[] =>
    Array.isArray(value) ? value.filter((w): w is string => typeof w === "string") : [];
  return [...strings(getPath(summary, "warnings")),
          ...strings(getPath(summary, "quantization.warnings"))];
}
