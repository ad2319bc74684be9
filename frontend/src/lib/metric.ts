// The primary metric of run summaries: which metric, which way is better, where it lives in a
// summary, and how to show it. Summaries written before ``metric`` existed count accuracy.

import type { Schemas } from "../api/client";
import { pct, pp, sig, signed } from "./format";
import type { Axis } from "./summary";

export type RunSummary = Schemas["RunSummary"];
export type Goal = Schemas["PrimaryMetric"]["goal"];

/** A run's primary metric; baseline and drop are null where an old summary lacks them. */
export interface MetricReading {
  name: string;
  goal: Goal;
  value: number;
  baseline: number | null;
  drop: number | null;
}

/** Which metric a sweep is judged by, and whether its summaries predate the ``metric`` block. */
export interface MetricRef {
  name: string;
  goal: Goal;
  /** an old summary: the metric is ``accuracy`` at the top level */
  legacy: boolean;
}

// Built-in fractions (accuracy, topK_accuracy, macro_f1) and their likely relatives.
const FRACTION = /(^|_)(accuracy|f1|precision|recall|auc)$/;
const LOWER_IS_BETTER = /(^|_)(loss|perplexity|error|wer|cer|mse|mae|rmse)$/;
// What the API accepts as one key of a summary path.
const PATH_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/** Whether a metric is a fraction in [0, 1], shown as a percentage. */
export function isFraction(name: string): boolean {
  return FRACTION.test(name);
}

/** The goal of a metric a summary names without one (the task's other metrics). */
export function defaultGoal(name: string): Goal {
  return LOWER_IS_BETTER.test(name) ? "min" : "max";
}

function finite(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function record(value: unknown): Record<string, unknown> | null {
  return value != null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown> : null;
}

/** The primary metric of one summary, or null when it reports none (a queued run). */
export function primaryMetric(summary: unknown): MetricReading | null {
  const s = record(summary) as RunSummary | null;
  if (!s) return null;
  const m = record(s.metric);
  const value = finite(m?.value);
  if (m && typeof m.name === "string" && value != null) {
    const goal = m.goal === "min" || m.goal === "max" ? m.goal : defaultGoal(m.name);
    return { name: m.name, goal, value, baseline: finite(m.baseline), drop: finite(m.drop) };
  }
  const accuracy = finite(s.accuracy);
  if (accuracy == null) return null;
  return { name: "accuracy", goal: "max", value: accuracy,
           baseline: finite(s.baseline_accuracy), drop: finite(s.accuracy_drop) };
}

/** The primary metric of a sweep, from a bounded sample of its summaries (queued runs, with
 * none, do not count): a ``metric`` block wins over an old summary's accuracy. */
export function sweepMetric(summaries: Iterable<unknown>, sample = 200): MetricRef | null {
  let legacy: MetricRef | null = null;
  let n = 0;
  for (const summary of summaries) {
    const s = record(summary);
    if (!s) continue;
    const m = record(s.metric);
    if (m && typeof m.name === "string") {
      return { name: m.name, goal: m.goal === "min" || m.goal === "max" ? m.goal
        : defaultGoal(m.name), legacy: false };
    }
    if (legacy == null && finite(s.accuracy) != null) {
      legacy = { name: "accuracy", goal: "max", legacy: true };
    }
    if (++n >= sample) break;
  }
  return legacy;
}

/** Every metric of the task in a summary; one written before ``metrics`` has accuracy only. */
export function taskMetrics(summary: RunSummary): Record<string, number> {
  if (summary.metrics) return summary.metrics;
  return summary.accuracy != null ? { accuracy: summary.accuracy } : {};
}

/** The fp32 model's metrics in a summary's ``quantization`` block; an older block has
 * ``fp32_accuracy`` only. */
export function fp32Metrics(block: { fp32_metrics?: Record<string, number>;
                                     fp32_accuracy?: number }): Record<string, number> {
  if (block.fp32_metrics) return block.fp32_metrics;
  return block.fp32_accuracy != null ? { accuracy: block.fp32_accuracy } : {};
}

/** How much worse ``value`` is than ``reference``, counted as summaries count a drop:
 * positive is worse, whatever the goal. */
export function dropFrom(reference: number | null | undefined, value: number | null | undefined,
                         goal: Goal): number | null {
  if (reference == null || value == null) return null;
  return goal === "max" ? reference - value : value - reference;
}

/** The summary paths of the metric's value and drop, as sort and Pareto parameters take them.
 * Before any summary arrives (null), the current layout is assumed. */
export function metricPaths(ref: MetricRef | null): { value: string; drop: string } {
  return ref?.legacy
    ? { value: "summary.accuracy", drop: "summary.accuracy_drop" }
    : { value: "summary.metric.value", drop: "summary.metric.drop" };
}

/** A metric's value: fractions as a percentage, other metrics to 4 significant digits. */
export function formatMetric(name: string, value: number | null | undefined): string {
  return isFraction(name) ? pct(value) : sig(value);
}

/** A drop (positive is worse): fractions in percentage points, others in the metric's units. */
export function formatDrop(name: string, value: number | null | undefined): string {
  return isFraction(name) ? pp(value) : signed(value);
}

/** How a metric field of a summary reads (``metric.*``, ``metrics.*``, ``baseline_metrics.*``),
 * or null for the other fields. ``primary``: the primary metric's name, if known. */
export function metricFieldFormat(field: string, primary: string | null | undefined):
    ((value: number | null) => string) | null {
  const f = field.replace(/^summary\./, "");
  const block = /^metric\.(value|baseline|drop)$/.exec(f);
  if (block && primary) {
    return block[1] === "drop" ? (v) => formatDrop(primary, v) : (v) => formatMetric(primary, v);
  }
  const named = /^(?:baseline_)?metrics\.([^.]+)$/.exec(f);
  return named ? (v) => formatMetric(named[1]!, v) : null;
}

/** The task's metric names found in summary fields (``summary.metrics.<name>``). */
export function metricNames(fields: readonly string[]): string[] {
  const names: string[] = [];
  for (const f of fields) {
    const m = /^summary\.metrics\.([^.]+)$/.exec(f);
    if (m && PATH_KEY.test(m[1]!)) names.push(m[1]!);
  }
  return names;
}

/** ``fields`` without the copies a summary with a ``metric`` block carries: the primary
 * metric again under ``metrics`` / ``baseline_metrics``, and the top-level accuracy fields
 * kept for older readers (``metrics.accuracy`` has the same number). */
export function distinctFields(fields: readonly string[], ref: MetricRef | null): string[] {
  if (!ref || ref.legacy) return [...fields];
  const copies = new Set([`summary.metrics.${ref.name}`, `summary.baseline_metrics.${ref.name}`,
                          "summary.accuracy", "summary.baseline_accuracy",
                          "summary.accuracy_drop"]);
  return fields.filter((f) => !copies.has(f));
}

/** The y axes a Pareto chart offers: the primary metric first, with its goal, then the task's
 * other metrics (built-in goals; higher is better for unknown names). */
export function metricAxes(ref: MetricRef | null, fields: readonly string[]): Axis[] {
  const name = ref?.name ?? "metric";
  const axes: Axis[] = [{ path: metricPaths(ref).value, label: name, goal: ref?.goal ?? "max",
                          kind: isFraction(name) ? "fraction" : "number" }];
  for (const other of metricNames(fields)) {
    if (other === ref?.name) continue;
    axes.push({ path: `summary.metrics.${other}`, label: other, goal: defaultGoal(other),
                kind: isFraction(other) ? "fraction" : "number" });
  }
  return axes;
}

/** Whether lower is better for a summary field (compare page highlighting). */
export function lowerIsBetter(field: string, ref: MetricRef | null): boolean {
  const f = field.replace(/^summary\./, "");
  if (/^(accuracy_drop|metric\.drop|size_bytes|macs|latency_ms|params_nonzero|params_total)/
    .test(f)) return true;
  if (/^metric\.(value|baseline)$/.test(f)) return ref?.goal === "min";
  const m = /^(?:baseline_)?metrics\.([^.]+)$/.exec(f);
  if (m) return (ref && m[1] === ref.name ? ref.goal : defaultGoal(m[1]!)) === "min";
  return false;
}

const TRAINING_CURVES = ["train/loss", "sparsity/actual", "sparsity/target", "lr"];

/** The validation curve shown first: ``val/<primary metric>``, else ``val/accuracy``, else the
 * first ``val/`` key the run has (``keys``, when known). */
export function defaultCurveKey(metric: string | null | undefined,
                                keys?: readonly string[] | null): string {
  const wanted = [metric ? `val/${metric}` : null, "val/accuracy"]
    .filter((k): k is string => k != null);
  if (!keys) return wanted[0]!;
  return wanted.find((k) => keys.includes(k)) ?? keys.find((k) => k.startsWith("val/"))
    ?? wanted[0]!;
}

/** The curves a picker offers: ``val/<metric>`` per metric (primary first), the training
 * curves, and ``current`` if it is none of those (a link may name any key). */
export function curveKeys(metrics: readonly string[], current?: string): string[] {
  const keys = [...new Set([...metrics.map((m) => `val/${m}`), ...TRAINING_CURVES])];
  if (current && !keys.includes(current)) keys.push(current);
  return keys;
}

/** One chart of the run page: ``id`` names it whichever of its keys the run has. */
export interface RunChart {
  id: string;
  title: string;
  keys: string[];
}

/** The run page's charts for the keys a run has: training loss, the primary metric's
 * validation curve, the other validation curves, sparsity, learning rate. */
export function runCharts(metric: string | null | undefined, keys: readonly string[]): RunChart[] {
  const first = defaultCurveKey(metric, keys);
  const validation = [first, ...keys.filter((k) => k.startsWith("val/") && k !== first).sort()];
  const charts = [
    { title: "train/loss", keys: ["train/loss"] },
    ...validation.map((k) => ({ title: k, keys: [k] })),
    { title: "sparsity: target vs actual", keys: ["sparsity/target", "sparsity/actual"] },
    { title: "lr", keys: ["lr"] },
  ];
  return charts.map((c) => ({ ...c, id: c.keys[0]!, keys: c.keys.filter((k) => keys.includes(k)) }))
    .filter((c) => c.keys.length > 0);
}
