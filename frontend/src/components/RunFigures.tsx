// A run's figures: headline cards, every metric against the baseline, the quantization block.

import { bytes, ms, pct, si } from "../lib/format";
import {
  defaultGoal, dropFrom, formatDrop, formatMetric, fp32Metrics, type Goal, primaryMetric,
  type RunSummary, taskMetrics,
} from "../lib/metric";
import {
  bestSpeedup, intervalRange, intervalTitle, speedupText,
} from "../lib/speedup";
import { numberAt } from "../lib/summary";
import { Card } from "./bits";

type Numbers = Record<string, number>;

export function SummaryCards({ summary }: { summary: Record<string, unknown> }) {
  const n = (path: string) => numberAt(summary, path);
  const metric = primaryMetric(summary);
  const best = bestSpeedup(summary);
  const hw = (summary.hardware ?? {}) as Record<string, unknown>;
  const engine = summary.versions as { squeezelab?: string } | undefined;
  // The card is narrow: the whole line is in the tooltip.
  const machine = [hw.gpu ? `GPU ${String(hw.gpu)}` : null,
                   hw.threads != null ? `${String(hw.threads)} thread(s)` : null,
                   hw.torch ? `torch ${String(hw.torch)}` : null,
                   engine?.squeezelab ? `squeezelab ${engine.squeezelab}` : null]
    .filter(Boolean).join(", ");
  const firstLatency = Object.entries((summary.latency_ms ?? {}) as
    Record<string, Record<string, { p50: number; p90: number }>>)
    .flatMap(([rt, b]) => Object.entries(b).map(([batch, v]) => ({ rt, batch, ...v })))
    .sort((a, b) => Number(b.batch) - Number(a.batch))[0];
  return (
    <div class="cards" data-testid="summary-cards">
      {metric && (
        <>
          <Card label={metric.name} value={formatMetric(metric.name, metric.value)}
                sub={`baseline ${formatMetric(metric.name, metric.baseline)}`} />
          <Card label={`${metric.name} drop`} value={formatDrop(metric.name, metric.drop)}
                sub={`${metric.goal === "max" ? "higher" : "lower"} is better`} />
        </>
      )}
      <Card label="sparsity" value={pct(n("sparsity"), 1)}
            sub={`${si(n("params_nonzero"))} of ${si(n("params_total"))} params non-zero`} />
      <Card label="stored size" value={bytes(n("size_bytes.stored"))}
            sub={`dense fp32 ${bytes(n("size_bytes.dense_fp32"))}`} />
      <Card label="MACs" value={si(n("macs.effective"))} sub={`dense ${si(n("macs.dense"))}`} />
      {firstLatency && <Card label={`latency ${firstLatency.rt} @${firstLatency.batch}`}
                             value={`p50 ${ms(firstLatency.p50)}`}
                             sub={`p90 ${ms(firstLatency.p90)}`} />}
      {best && <Card label="best speedup"
                     value={<span title={intervalTitle(best.reading) || undefined}>
                       {speedupText(best.reading)}</span>}
                     sub={[`${best.runtime} @ batch ${best.batch}`, best.reading.interval
                           && `95% ${intervalRange(best.reading)}`].filter(Boolean).join(", ")} />}
      <Card label="hardware" value={String(hw.cpu ?? "–")}
            sub={<span title={machine}>{machine}</span>} />
    </div>
  );
}

/** One row per metric: a value against a reference (the baseline, or the fp32 model). */
interface MetricRowsProps {
  values: Numbers;
  reference: Numbers;
  primary: { name: string; goal: Goal } | null;
}

function MetricRows({ values, reference, primary }: MetricRowsProps) {
  return (
    <>
      {Object.entries(values).map(([name, value]) => {
        const goal = name === primary?.name ? primary.goal : defaultGoal(name);
        return (
          <tr key={name}>
            <th scope="row">{name}{name === primary?.name ? " (primary)" : ""}</th>
            <td class="num">{formatMetric(name, value)}</td>
            <td class="num">{formatMetric(name, reference[name])}</td>
            <td class="num">{formatDrop(name, dropFrom(reference[name], value, goal))}</td>
          </tr>);
      })}
    </>
  );
}

/** Every metric of the task on the test split, against the dense baseline; shown when the
 * task has more than the primary metric the cards already show. */
export function MetricsTable({ summary }: { summary: Record<string, unknown> }) {
  const s = summary as RunSummary;
  const metrics = taskMetrics(s);
  if (Object.keys(metrics).length < 2) return null;
  return (
    <table class="grid compact" data-testid="metrics-table">
      <caption>Metrics on the test split</caption>
      <thead><tr><th scope="col">metric</th><th scope="col" class="num">value</th>
        <th scope="col" class="num">baseline</th><th scope="col" class="num">drop</th></tr></thead>
      <tbody>
        <MetricRows values={metrics} reference={s.baseline_metrics ?? {}}
                    primary={primaryMetric(s)} />
      </tbody>
    </table>
  );
}

interface QuantizationBlock {
  mode?: string;
  runtime?: string;
  weights?: string;
  activations?: string;
  fp32_metrics?: Numbers;
  fp32_accuracy?: number;
  verdict?: Record<string, string>;
}

export function isQuantization(value: unknown): value is QuantizationBlock {
  return value != null && typeof value === "object" && !Array.isArray(value);
}

/** How the model was quantized, and the int8 model's metrics against the fp32 model's. */
export function Quantization({ block, summary }: { block: QuantizationBlock;
                                                   summary: Record<string, unknown> }) {
  const s = summary as RunSummary;
  const fp32 = fp32Metrics(block);
  const how = [block.mode, block.weights, block.activations && `activations ${block.activations}`,
               block.runtime && `on ${block.runtime}`].filter(Boolean).join(", ");
  return (
    <div data-testid="quantization">
      <p>{how}</p>
      <table class="grid compact">
        <thead><tr><th scope="col">metric</th><th scope="col" class="num">int8</th>
          <th scope="col" class="num">fp32</th><th scope="col" class="num">drop</th></tr></thead>
        <tbody><MetricRows values={taskMetrics(s)} reference={fp32} primary={primaryMetric(s)} />
        </tbody>
      </table>
      {Object.values(block.verdict ?? {}).map((v) => <p key={v} class="muted small">{v}</p>)}
    </div>
  );
}
