import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { allRuns, get, post, type Run, type Sweep } from "../api/client";
import {
  ErrorNote, GateResults, Loading, SourceCell, StatusBadge, StatusCounts,
} from "../components/bits";
import { Curves } from "../components/Curves";
import { ParetoChart } from "../components/ParetoChart";
import { runColumns } from "../components/runColumns";
import { isSensitivity, SensitivityHeatmap } from "../components/Sensitivity";
import { VirtualTable } from "../components/VirtualTable";
import { LiveDot, useAction, useFetch, useKeyed, useLive } from "../hooks";
import { cell, datetime } from "../lib/format";
import {
  curveKeys, defaultCurveKey, distinctFields, lowerIsBetter, metricAxes, metricNames,
} from "../lib/metric";
import { paretoQuery } from "../lib/pareto";
import { mergeRuns, recipeOfRun } from "../lib/runs";
import { fieldLabel, paretoAxes, summaryShape } from "../lib/summary";
import { sortRows } from "../lib/table";
import { formatSort, nextSort, parseIds, parseSort, toggleId } from "../lib/urlstate";
import { type Location, navigate, setQuery } from "../router";

const DEFAULT_SORT = { field: "id", desc: false };

/** One sweep: Pareto chart, runs table, selected runs' curves, gates and sensitivity. */
export function SweepPage({ id, loc }: { id: number; loc: Location }) {
  const q = loc.query;
  const sort = parseSort(q.get("sort"), DEFAULT_SORT);
  const recipe = q.get("recipe") ?? "";
  const selected = parseIds(q.get("sel"));

  const sweep = useFetch((signal) => get("/api/v1/sweeps/{sweep_id}", {
    path: { sweep_id: id }, signal }) as Promise<Sweep>, [id]);
  const [runs, setRuns] = useState<Run[]>([]);
  const [runsDone, setRunsDone] = useState(false);
  // The first page of runs says which metric the sweep reports; the chart waits for it.
  const [firstPage, setFirstPage] = useState(false);
  const [runsError, setRunsError] = useState<unknown>(null);
  const [runsTick, setRunsTick] = useState(0);
  const [curveVersion, setCurveVersion] = useState(0);

  // The rest of the runs wait for the Pareto front: on a busy server the chart comes first.
  const paretoSettled = useRef<{ promise: Promise<void>; resolve: () => void } | null>(null);
  if (paretoSettled.current == null) {
    let resolve = () => {};
    const promise = new Promise<void>((r) => { resolve = r; });
    paretoSettled.current = { promise, resolve };
  }

  useEffect(() => {
    const controller = new AbortController();
    let acc: Run[] = [];
    setRunsDone(false);
    allRuns(id, (page) => {
      acc = acc.concat(page);
      setRuns(acc);
      setFirstPage(true);
    }, controller.signal, paretoSettled.current!.promise)
      .then(() => {
        performance.mark("sweep:runs-loaded");
        setRunsDone(true);
        setRunsError(null);
      })
      .catch((exc: unknown) => {
        if (controller.signal.aborted) return;
        setRunsError(exc);
        setFirstPage(true);
      });
    return () => controller.abort();
  }, [id, runsTick]);

  // A bounded sample of summaries, read again as runs arrive (queued runs finishing); what
  // depends on it is rebuilt only when the fields or the metric change.
  const sampled = useMemo(() => summaryShape(runs.map((r) => r.summary)), [runs]);
  const shape = useKeyed(sampled, sampled.key);
  const { fields } = shape;
  // Before any run reports, the metric the spec declares (null when the task's code decides).
  const declared = sweep.data?.metric;
  const metric = shape.metric
    ?? (declared ? { name: declared.name, goal: declared.goal, legacy: false } : null);
  const metricKey = `${metric?.name}:${metric?.goal}:${metric?.legacy}`;
  const xAxes = useMemo(() => paretoAxes(fields), [shape]);
  const yAxes = useMemo(() => metricAxes(metric, fields), [shape, metricKey]);
  const xAxis = xAxes.find((a) => a.path === q.get("x")) ?? xAxes[0]!;
  const yAxis = yAxes.find((a) => a.path === q.get("y")) ?? yAxes[0]!;
  const latencyColumn = xAxis.kind === "ms" ? xAxis.path
    : fields.find((f) => /^summary\.latency_ms\.[^.]+\.[^.]+\.p50$/.test(f)) ?? null;
  const columns = useMemo(() => runColumns(latencyColumn, metric),
                          [latencyColumn, shape, metricKey]);
  // The sort in the URL stays listed even where the sample lacks it (an older link).
  const sortFields = useMemo(() => [...new Set(["id", "variant", "seed", "status",
                                                ...distinctFields(fields, metric), sort.field])],
                             [shape, metricKey, sort.field]);
  const curveKey = q.get("key") ?? defaultCurveKey(metric?.name);
  const curveOptions = useMemo(() => curveKeys([metric?.name ?? "accuracy",
                                                ...metricNames(fields)], curveKey),
                               [shape, metricKey, curveKey]);

  // The query is asked before the first page says which metric there is (a guess that holds
  // for most sweeps); a front is shown only for the query now wanted.
  const query = paretoQuery(xAxis, yAxis);
  const queryKey = `${query.x}:${query.x_goal}|${query.y}:${query.y_goal}`;
  const pareto = useFetch((signal) => get("/api/v1/sweeps/{sweep_id}/pareto", {
    path: { sweep_id: id }, query, signal }).then((data) => ({ key: queryKey, data })),
                          [id, queryKey]);
  const front = firstPage && pareto.data?.key === queryKey ? pareto.data.data : null;
  const cancel = useAction();
  const retry = useAction();

  useEffect(() => {
    if (pareto.data || pareto.error) paretoSettled.current!.resolve();
  }, [pareto.data, pareto.error]);

  const live = useLive(id, (events) => {
    sweep.reload();
    pareto.reload();
    if (events == null) {
      setRunsTick((t) => t + 1);
      setCurveVersion((v) => v + 1);
      return;
    }
    const changed = [...new Set(events.filter((e) => e.type === "run" && e.run_id)
      .map((e) => e.run_id!))];
    if (changed.length > 50) setRunsTick((t) => t + 1);
    else if (changed.length) {
      Promise.all(changed.map((rid) => get("/api/v1/runs/{run_id}", { path: { run_id: rid } })))
        .then((fresh) => setRuns((prev) => mergeRuns(prev, fresh)))
        .catch(() => setRunsTick((t) => t + 1));
    }
    if (events.some((e) => e.type === "metrics" && selected.includes(e.run_id ?? -1))) {
      setCurveVersion((v) => v + 1);
    }
  });

  const recipes = useMemo(() => [...new Set(runs.map(recipeOfRun))].sort(), [runs]);
  const rows = useMemo(() => {
    const filtered = recipe ? runs.filter((r) => recipeOfRun(r) === recipe) : runs;
    return sortRows(filtered, sort.field, sort.desc);
  }, [runs, recipe, sort.field, sort.desc]);
  const selectedSet = useMemo(() => new Set(selected), [selected.join(",")]);
  const names = useMemo(() => {
    const out: Record<number, string> = {};
    for (const r of runs) if (selectedSet.has(r.id)) out[r.id] = `${r.variant} s${r.seed}`;
    return out;
  }, [runs, selectedSet]);
  const sensitivityRun = useMemo(() => runs.find((r) => isSensitivity(r.summary?.sensitivity)),
                                 [runs]);

  // Time to interactive (benchmarks/dashboard.py): the table has rows and the chart drew.
  const marks = useRef({ table: false, chart: false, done: false });
  const page = useRef<HTMLElement>(null);
  const markReady = useCallback((which: "table" | "chart") => {
    const m = marks.current;
    if (m[which]) return;
    m[which] = true;
    performance.mark(`sweep:${which}`);
    if (m.table && m.chart && !m.done) {
      m.done = true;
      performance.mark("sweep:interactive");
      page.current?.setAttribute("data-interactive", "true");
    }
  }, []);
  const onTableRendered = useCallback(() => { if (runs.length) markReady("table"); },
                                      [runs.length > 0]);

  const s = sweep.data;
  return (
    <section ref={page} aria-labelledby="sweep-title" class="sweep-page" data-testid="sweep-page">
      <header class="page-head">
        <h1 id="sweep-title">{s ? s.name : `Sweep #${id}`}</h1>
        {s && <StatusBadge status={s.status} />}
        <LiveDot state={live} />
        <span class="spacer" />
        {s && (s.status === "queued" || s.status === "running") && (
          <button type="button" disabled={cancel.busy} onClick={() => cancel.run(() =>
            post("/api/v1/sweeps/{sweep_id}/cancel", { path: { sweep_id: id } })
              .then(sweep.reload))}>Cancel sweep</button>
        )}
        {s && (s.counts.failed ?? 0) > 0 && (
          <button type="button" disabled={retry.busy} onClick={() => retry.run(() =>
            post("/api/v1/sweeps/{sweep_id}/retry-failed", { path: { sweep_id: id } })
              .then(() => setRunsTick((t) => t + 1)))}>Retry failed</button>
        )}
      </header>
      <ErrorNote error={cancel.error} what="Cancel" />
      <ErrorNote error={retry.error} what="Retry" />
      <ErrorNote error={sweep.error} />
      {s && (
        <p class="meta">
          <span>task <b>{s.task}</b></span>
          <SourceCell source={s.source} repo={s.repo} sha={s.sha} ref_={s.ref} />
          <span>created {datetime(s.created_at)}</span>
          <StatusCounts counts={s.counts} />
        </p>
      )}

      <div class="two-col">
        <div class="panel">
          <div class="panel-head">
            <h2>Pareto front</h2>
            <label>x axis
              <select value={xAxis.path} onChange={(e) => setQuery({ x: e.currentTarget.value })}>
                {xAxes.map((a) => <option key={a.path} value={a.path}>{a.label}</option>)}
              </select>
            </label>
            <label>y axis
              <select value={yAxis.path} onChange={(e) => setQuery({ y: e.currentTarget.value })}>
                {yAxes.map((a) => <option key={a.path} value={a.path}>{a.label}</option>)}
              </select>
            </label>
          </div>
          <ErrorNote error={pareto.error} />
          {front ? (
            <ParetoChart points={front.points} x={xAxis} y={yAxis}
                         onFinished={() => markReady("chart")}
                         onOpen={(p) => navigate(`/runs/${p.run_ids[0]}`)} />
          ) : <Loading what="the Pareto front" />}
          {front && (
            <p class="muted small">
              {front.points.length} variants (succeeded runs, seeds as mean ± std);{" "}
              {front.front.length} on the front ({xAxis.label}: {xAxis.goal === "max"
                ? "higher" : "lower"} is better; {yAxis.label}: {yAxis.goal === "max"
                ? "higher" : "lower"} is better). Click a point to open its run.
            </p>
          )}
        </div>
        <div class="panel">
          <h2>Gates</h2>
          <GateResults gates={s?.gates} />
          {sensitivityRun && (
            <>
              <h2>Layer sensitivity <a class="small" href={`/runs/${sensitivityRun.id}`}>
                run {sensitivityRun.id}</a></h2>
              <SensitivityHeatmap table={sensitivityRun.summary!.sensitivity as never} />
            </>
          )}
        </div>
      </div>

      <div class="panel">
        <div class="panel-head">
          <h2>Runs <span class="muted small" data-testid="runs-count">
            {rows.length}{recipe ? ` of ${runs.length}` : ""}{runsDone ? "" : " (loading…)"}
          </span></h2>
          <label>Recipe
            <select value={recipe} onChange={(e) => setQuery({ recipe: e.currentTarget.value })}>
              <option value="">all</option>
              {recipes.map((r) => <option key={r} value={r}>{r}</option>)}
            </select>
          </label>
          <label>Sort by
            <select value={sort.field} onChange={(e) => setQuery({
              sort: formatSort({ field: e.currentTarget.value, desc: sort.desc }) })}>
              {sortFields.map((f) => (
                <option key={f} value={f}>{fieldLabel(f, metric?.name)}</option>))}
            </select>
          </label>
          <label class="inline">
            <input type="checkbox" checked={sort.desc}
                   onChange={(e) => setQuery({ sort: formatSort({ field: sort.field,
                     desc: e.currentTarget.checked }) })} /> descending
          </label>
          <span class="spacer" />
          <span class="muted small">{selected.length} selected</span>
          <button type="button" disabled={selected.length === 0}
                  onClick={() => setQuery({ sel: null })}>Clear</button>
          <button type="button" disabled={selected.length < 2 || selected.length > 10}
                  onClick={() => navigate(`/compare?runs=${selected.join(",")}`)}>
            Compare {selected.length >= 2 ? selected.length : ""} runs
          </button>
        </div>
        <ErrorNote error={runsError} />
        <VirtualTable rows={rows} columns={columns} label="runs of this sweep"
                      testId="runs-table" sort={sort} height={420}
                      onSort={(f) => setQuery({ sort: formatSort(nextSort(sort, f,
                                                                  lowerIsBetter(f, metric))) })}
                      onOpen={(r) => navigate(`/runs/${r.id}`)}
                      selected={selectedSet}
                      onToggle={(r) => setQuery({ sel: toggleId(selected, r.id) })}
                      onRendered={onTableRendered} />
        <p class="muted small">Keyboard: focus the table, ↑/↓ to move, Space to select, Enter to
          open. Select up to 10 runs to overlay their curves or compare them.</p>
      </div>

      <div class="panel">
        <div class="panel-head">
          <h2>Selected runs' curves</h2>
          <label>Metric
            <select value={curveKey} onChange={(e) => setQuery({ key: e.currentTarget.value })}>
              {curveOptions.map((k) => <option key={k} value={k}>{k}</option>)}
            </select>
          </label>
        </div>
        {selected.length ? (
          <Curves runIds={selected} metricKeys={[curveKey]} names={names} title={curveKey}
                  version={curveVersion} testId="selected-curves" />
        ) : <p class="muted">Select runs in the table (checkbox or Space) to overlay their
          curves.</p>}
      </div>
      {runs.length > 0 && !runsDone && <p class="muted small">Loaded {cell(runs.length)} runs…</p>}
    </section>
  );
}
