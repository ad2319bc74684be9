import { useMemo, useState } from "preact/hooks";
import { stringify } from "yaml";
import { type Artifact, authHeaders, get, getToken, post, type Run } from "../api/client";
import { ErrorNote, Loading, StatusBadge } from "../components/bits";
import { Chart } from "../components/Chart";
import { Curves } from "../components/Curves";
import {
  isQuantization, MetricsTable, Quantization, SummaryCards,
} from "../components/RunFigures";
import { isSensitivity, SensitivityHeatmap } from "../components/Sensitivity";
import { type Action, LiveDot, useAction, useFetch, useLive } from "../hooks";
import { type ChartOption } from "../lib/echarts";
import { bytes, datetime, duration, ms, pct } from "../lib/format";
import { primaryMetric, runCharts } from "../lib/metric";
import { intervalRange, intervalTitle, speedupAt, speedupText } from "../lib/speedup";
import { getPath, summaryWarnings } from "../lib/summary";

function LayerSparsity({ layers }: { layers: Record<string, number> }) {
  const names = Object.keys(layers);
  const option = useMemo<ChartOption>(() => ({
    animation: false,
    tooltip: { trigger: "axis", valueFormatter: (v: number) => pct(v, 1) },
    grid: { left: 110, right: 24, top: 8, bottom: 28 },
    xAxis: { type: "value", max: 1, axisLabel: { formatter: (v: number) => pct(v, 0) } },
    yAxis: { type: "category", data: names, inverse: true },
    series: [{ type: "bar", data: names.map((n) => layers[n]), itemStyle: { color: "#2563eb" },
               label: { show: true, position: "right", formatter: (p: { value: number }) =>
                 pct(p.value, 1) } }],
  }), [layers]);
  return <Chart option={option} height={Math.max(120, names.length * 28 + 40)}
                label="per-layer sparsity" testId="layer-sparsity" />;
}

function Latency({ summary }: { summary: Record<string, unknown> }) {
  const latency = (summary.latency_ms ?? {}) as
    Record<string, Record<string, { p50?: number; p90?: number }>>;
  const rows = Object.entries(latency).flatMap(([rt, byBatch]) =>
    Object.entries(byBatch).map(([batch, v]) => ({
      rt, batch, ...v, speed: speedupAt(summary, `speedup.${rt}.${batch}`) })));
  const notRun = Object.entries((summary.not_run ?? {}) as Record<string, string>);
  if (!rows.length && !notRun.length) return null;
  return (
    <table class="grid compact" data-testid="latency-table">
      <caption>Measured latency on the worker</caption>
      <thead><tr><th>runtime</th><th class="num">batch</th><th class="num">p50</th>
        <th class="num">p90</th><th class="num">speedup</th>
        <th class="num" title="from this run's own timings, interleaved with the dense model's">
          95% interval</th></tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr key={`${r.rt}-${r.batch}`}>
            <td>{r.rt}</td><td class="num">{r.batch}</td><td class="num">{ms(r.p50)}</td>
            <td class="num">{ms(r.p90)}</td>
            <td class="num" title={intervalTitle(r.speed) || undefined}>
              {speedupText(r.speed)}</td>
            <td class="num">{intervalRange(r.speed)}</td>
          </tr>))}
        {notRun.map(([rt, why]) => (
          <tr key={`${rt}-not-run`} data-testid="latency-not-run">
            <td>{rt}</td><td colSpan={5} class="muted">not run: {why}</td>
          </tr>))}
      </tbody>
    </table>
  );
}

async function download(runId: number, name: string): Promise<void> {
  const response = await fetch(`/api/v1/runs/${runId}/artifacts/${encodeURIComponent(name)}`,
                               { headers: authHeaders() });
  if (!response.ok) throw new Error(`download failed: HTTP ${response.status}`);
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Artifacts({ runId, items, fetching }: { runId: number; items: Artifact[];
                                                 fetching: Action }) {
  if (!items.length) return <p class="muted">No artifacts.</p>;
  const token = getToken();
  return (
    <table class="grid compact" data-testid="artifacts">
      <thead><tr><th>name</th><th class="num">size</th><th>sha256</th></tr></thead>
      <tbody>
        {items.map((a) => {
          const href = `/api/v1/runs/${runId}/artifacts/${encodeURIComponent(a.name)}`;
          return (
            <tr key={a.name}>
              <td>{token
                ? <button type="button" class="link"
                          onClick={() => fetching.run(() => download(runId, a.name))}>
                    {a.name}</button>
                : <a href={href} download={a.name}>{a.name}</a>}</td>
              <td class="num">{bytes(a.size)}</td>
              <td><code title={a.sha256}>{a.sha256.slice(0, 16)}…</code></td>
            </tr>);
        })}
      </tbody>
    </table>
  );
}

/** One run: curves, per-layer sparsity, summary, config, artifacts, error. Live while running. */
export function RunPage({ id }: { id: number }) {
  const run = useFetch((signal) => get("/api/v1/runs/{run_id}", { path: { run_id: id }, signal }),
                       [id]);
  const keys = useFetch((signal) => get("/api/v1/runs/{run_id}/metrics", {
    path: { run_id: id }, signal }), [id]);
  const artifacts = useFetch((signal) => get("/api/v1/runs/{run_id}/artifacts", {
    path: { run_id: id }, signal }), [id]);
  const [version, setVersion] = useState(0);
  const cancel = useAction();
  const fetching = useAction();
  const r = run.data as Run | null;
  const active = r != null && (r.status === "running" || r.status === "queued");
  const live = useLive(r?.sweep_id ?? null, (events) => {
    const mine = events?.filter((e) => e.run_id === id);
    if (events == null || mine!.some((e) => e.type === "run")) {
      run.reload();
      artifacts.reload();
    }
    if (events == null || mine!.some((e) => e.type === "metrics")) {
      keys.reload();
      setVersion((v) => v + 1);
    }
  }, active);

  if (run.error) return <ErrorNote error={run.error} />;
  if (!r) return <Loading what={`run ${id}`} />;
  const summary = r.summary ?? null;
  const charts = runCharts(primaryMetric(summary)?.name, keys.data?.keys ?? []);
  const layers = getPath(summary, "layer_sparsity") as Record<string, number> | undefined;
  const sensitivity = summary?.sensitivity;
  // The lease holder while it runs; a failed attempt's error keeps who held it.
  const worker = r.lease_owner ?? r.error?.worker;

  return (
    <section aria-labelledby="run-title" data-testid="run-page">
      <header class="page-head">
        <h1 id="run-title">{r.name}</h1>
        <StatusBadge status={r.status} />
        {active && <LiveDot state={live} />}
        <span class="spacer" />
        {active && <button type="button" disabled={cancel.busy} onClick={() => cancel.run(() =>
          post("/api/v1/runs/{run_id}/cancel", { path: { run_id: id } }).then(run.reload))}>
          Cancel run</button>}
      </header>
      <ErrorNote error={cancel.error} what="Cancel" />
      <p class="meta">
        <a href={`/sweeps/${r.sweep_id}`}>sweep #{r.sweep_id}</a>
        <span>{r.kind}</span><span>variant <b>{r.variant}</b></span><span>seed {r.seed}</span>
        <span>queue {r.queue}</span><span>attempt {r.attempt}</span>
        {r.depends_on_id && <a href={`/runs/${r.depends_on_id}`}>baseline run {r.depends_on_id}</a>}
        <span>started {datetime(r.started_at)}</span>
        <span>took {duration(r.started_at, r.ended_at)}</span>
        {worker != null && <span>worker {String(worker)}</span>}
      </p>
      {r.error && (
        <div class="error-box" role="alert" data-testid="run-error">
          <b>{String(r.error.type ?? "error")}</b>: {String(r.error.message ?? "")}
          {typeof r.error.traceback === "string" && (
            <details><summary>traceback</summary><pre>{r.error.traceback}</pre></details>)}
        </div>
      )}
      {summary && summaryWarnings(summary).length > 0 && (
        <div class="warn-box" role="note" data-testid="run-warnings">
          <b>Warnings</b>
          <ul>{summaryWarnings(summary).map((w) => <li key={w}>{w}</li>)}</ul>
        </div>
      )}
      {summary && <SummaryCards summary={summary} />}

      <div class="curves-grid">
        {charts.map((c) => (
          <div class="panel" key={c.id}>
            <Curves runIds={[id]} metricKeys={c.keys} title={c.title}
                    version={version} height={240} testId={`curve-${c.id}`} />
          </div>))}
        {keys.data && charts.length === 0 && <p class="muted">No curves recorded.</p>}
      </div>

      <div class="two-col">
        {layers && Object.keys(layers).length > 0 && (
          <div class="panel"><h2>Per-layer sparsity</h2><LayerSparsity layers={layers} /></div>)}
        {summary && (
          <div class="panel"><MetricsTable summary={summary} /><Latency summary={summary} /></div>)}
      </div>
      {summary && isQuantization(summary.quantization) && (
        <div class="panel"><h2>Quantization</h2>
          <Quantization block={summary.quantization} summary={summary} /></div>
      )}
      {isSensitivity(sensitivity) && (
        <div class="panel"><h2>Layer sensitivity</h2><SensitivityHeatmap table={sensitivity} /></div>
      )}
      <div class="two-col">
        <div class="panel">
          <h2>Config</h2>
          <pre class="yaml" data-testid="run-config">{stringify(r.config)}</pre>
        </div>
        <div class="panel">
          <h2>Artifacts</h2>
          <ErrorNote error={fetching.error} what="Download" />
          <Artifacts runId={id} items={(artifacts.data?.items ?? []) as Artifact[]}
                     fetching={fetching} />
          <h2>Summary (raw)</h2>
          <details><summary>JSON</summary><pre>{JSON.stringify(summary, null, 2)}</pre></details>
        </div>
      </div>
    </section>
  );
}
