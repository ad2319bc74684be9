// Small presentational pieces shared by pages.

import type { ComponentChildren } from "preact";
import type { Gates } from "../api/client";
import { bytes, cell, pct, ratio } from "../lib/format";
import { formatDrop, formatMetric } from "../lib/metric";

const ORDER = ["running", "queued", "succeeded", "failed", "cancelled"];

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge s-${status}`}>{status}</span>;
}

export function StatusCounts({ counts }: { counts: Record<string, number> }) {
  const entries = Object.entries(counts).filter(([, n]) => n > 0)
    .sort(([a], [b]) => ORDER.indexOf(a) - ORDER.indexOf(b));
  if (!entries.length) return <span class="muted">no runs</span>;
  return (
    <span class="counts">
      {entries.map(([status, n]) => (
        <span key={status} class={`badge s-${status}`} title={`${n} ${status}`}>
          {n} {status}
        </span>
      ))}
    </span>
  );
}

export function GateBadge({ gates }: { gates: Gates | null | undefined }) {
  if (!gates || gates.passed == null) return <span class="muted">–</span>;
  return gates.passed
    ? <span class="badge s-succeeded" title={gates.description}>gates passed</span>
    : <span class="badge s-failed" title={gates.description}>gates failed</span>;
}

/** repo@sha linking to the commit where the repo is a URL or an owner/name on GitHub. */
export function SourceCell({ source, repo, sha, ref_ }: { source: string; repo: string | null;
                                                         sha: string | null;
                                                         ref_?: string | null }) {
  if (!repo) return <span>{source}</span>;
  const short = sha ? sha.slice(0, 8) : ref_ ?? "";
  const base = /^https?:\/\//.test(repo) ? repo.replace(/\/$/, "")
    : /^[\w.-]+\/[\w.-]+$/.test(repo) ? `https://github.com/${repo}` : null;
  const label = `${repo}@${short}`;
  return (
    <span>
      <span class="muted">{source} </span>
      {base && sha ? <a href={`${base}/commit/${sha}`} target="_blank" rel="noreferrer">{label}</a>
        : label}
    </span>
  );
}

export function Card({ label, value, sub }: { label: string; value: ComponentChildren;
                                              sub?: ComponentChildren }) {
  return (
    <div class="card">
      <div class="card-label">{label}</div>
      <div class="card-value">{value}</div>
      {sub != null && <div class="card-sub">{sub}</div>}
    </div>
  );
}

/** How a gate's value and threshold read; the metric drop is in the primary metric's units. */
function gateFormat(gate: string, metric: string): (v: number | null) => string {
  if (gate === "max_metric_drop") return (v) => formatMetric(metric, v);
  const fixed: Record<string, (v: number | null) => string> = {
    max_accuracy_drop: (v) => pct(v), min_speedup: ratio, max_stored_size: bytes };
  return fixed[gate] ?? cell;
}

/** The gates report of an ended sweep: each gate against the judged variant, and the best. */
export function GateResults({ gates }: { gates: Gates | null | undefined }) {
  if (!gates) {
    return <p class="muted" data-testid="gates">Gates are evaluated when the sweep ends.</p>;
  }
  const best = gates.best;
  // Reports written before the primary metric existed judge accuracy.
  const metric = best?.metric ?? "accuracy";
  return (
    <div class="gates" data-testid="gates">
      <p><GateBadge gates={gates} /> {gates.description}</p>
      {gates.results.length > 0 && (
        <table class="grid compact">
          <thead><tr><th scope="col">gate</th><th scope="col">variant</th>
            <th scope="col" class="num">value</th><th scope="col" class="num">threshold</th>
            <th scope="col">result</th></tr></thead>
          <tbody>
            {gates.results.map((r, i) => {
              const fmt = gateFormat(r.gate, metric);
              return (
                <tr key={i}>
                  <td>{r.gate.replace(/_/g, " ")}</td>
                  <td>{r.recipe && r.recipe !== r.variant ? `${r.recipe}: ` : ""}{r.variant ?? "–"}</td>
                  <td class="num">{fmt(r.value)}</td><td class="num">{fmt(r.threshold)}</td>
                  <td>{r.passed ? <span class="badge s-succeeded">pass</span>
                    : <span class="badge s-failed">fail</span>}</td>
                </tr>);
            })}
          </tbody>
        </table>
      )}
      {best && (
        <p data-testid="gates-best">
          Best variant: <a href={`/runs/${best.run_ids[0]}`}><b>{best.variant}</b></a>{" "}
          ({best.seeds} seed{best.seeds === 1 ? "" : "s"}):{" "}
          {metric} {formatMetric(metric, best.metric_value ?? best.accuracy)},
          drop {formatDrop(metric, best.metric_drop ?? best.accuracy_drop)},
          speedup {ratio(best.speedup)}
          {best.speedup_runtime ? ` (${best.speedup_runtime} @${best.speedup_batch})` : ""},
          stored {bytes(best.stored_bytes)}.
        </p>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted" aria-live="polite">Loading {what}…</p>;
}

/** An error for the user; ``what`` names the action that failed ("Cancel"). */
export function ErrorNote({ error, what }: { error: unknown; what?: string }) {
  if (error == null) return null;
  const message = error instanceof Error ? error.message : String(error);
  return <p class="error" role="alert">{what ? `${what} failed: ${message}` : message}</p>;
}
