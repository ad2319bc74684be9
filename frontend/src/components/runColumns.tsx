import type { Run } from "../api/client";
import { bytes, pct, si } from "../lib/format";
import { formatDrop, formatMetric, type MetricRef, metricPaths } from "../lib/metric";
import { intervalTitle, speedupAt, speedupText } from "../lib/speedup";
import { fieldLabel, numberAt } from "../lib/summary";
import { StatusBadge } from "./bits";
import type { Column } from "./VirtualTable";

function num(path: string, fmt: (v: number) => string): (r: Run) => string {
  return (r) => {
    const v = numberAt(r, path);
    return v == null ? "–" : fmt(v);
  };
}

/** A sweep's runs table: the primary metric and its drop in the metric's own units (its name
 * in the header), the costs, and p50 latency at ``latency`` (a summary path) with its speedup
 * ("≈1.0× (noise)" when its interval contains 1.0; the interval in its tooltip).
 * Column keys are summary paths, which is what sorting reads. */
export function runColumns(latency: string | null, metric: MetricRef | null): Column<Run>[] {
  const name = metric?.name ?? "metric";
  const paths = metricPaths(metric);
  const cols: Column<Run>[] = [
    { key: "id", label: "id", width: 64, align: "right", render: (r) => r.id },
    { key: "variant", label: "variant", render: (r) => <a href={`/runs/${r.id}`}>{r.variant}</a> },
    { key: "seed", label: "seed", width: 56, align: "right", render: (r) => r.seed },
    { key: "status", label: "status", width: 112, render: (r) => <StatusBadge status={r.status} /> },
    { key: paths.value, label: name, width: 104, align: "right",
      render: num(paths.value, (v) => formatMetric(name, v)) },
    { key: paths.drop, label: "drop", width: 88, align: "right",
      render: num(paths.drop, (v) => formatDrop(name, v)) },
    { key: "summary.sparsity", label: "sparsity", width: 80, align: "right",
      render: num("summary.sparsity", (v) => pct(v, 1)) },
    { key: "summary.size_bytes.stored", label: "stored", width: 96, align: "right",
      render: num("summary.size_bytes.stored", bytes) },
    { key: "summary.macs.effective", label: "MACs", width: 72, align: "right",
      render: num("summary.macs.effective", si) },
  ];
  if (latency) {
    const speed = latency.replace("latency_ms", "speedup").replace(/\.p50$/, "");
    cols.push({ key: latency, label: fieldLabel(latency), width: 150, align: "right",
                render: num(latency, (v) => v.toFixed(3)) },
              { key: speed, label: "speedup", width: 112, align: "right",
                render: (r) => {
                  const reading = speedupAt(r, speed);
                  return <span title={intervalTitle(reading) || undefined}>
                    {speedupText(reading)}</span>;
                } });
  }
  return cols;
}
