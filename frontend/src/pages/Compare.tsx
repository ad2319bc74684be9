import { useMemo, useState } from "preact/hooks";
import { get, type Run } from "../api/client";
import { ErrorNote, Loading, StatusBadge } from "../components/bits";
import { Curves } from "../components/Curves";
import { useFetch } from "../hooks";
import { diffConfigs } from "../lib/diff";
import { cell } from "../lib/format";
import {
  curveKeys, defaultCurveKey, distinctFields, lowerIsBetter, metricFieldFormat, metricNames,
  primaryMetric, sweepMetric,
} from "../lib/metric";
import {
  intervalTitle, isSpeedupPath, rankedSpeedup, speedupAt, speedupText,
} from "../lib/speedup";
import { fieldLabel, numberAt, summaryFields } from "../lib/summary";
import { parseIds } from "../lib/urlstate";
import { type Location, setQuery } from "../router";

/** Index of the best value in a row, or -1 when they are all equal or missing. */
export function bestIndex(values: (number | null)[], lowerIsBetter: boolean): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v == null) continue;
    const b = best < 0 ? null : values[best]!;
    if (b == null || (lowerIsBetter ? v < b : v > b)) best = i;
  }
  const present = values.filter((v) => v != null);
  return present.every((v) => v === present[0]) ? -1 : best;
}

/** 2–10 runs side by side: config diff, summary table, overlaid curves. */
export function ComparePage({ loc }: { loc: Location }) {
  const ids = parseIds(loc.query.get("runs")).slice(0, 10);
  const all = loc.query.get("all") === "1";
  const [addText, setAddText] = useState("");

  const runs = useFetch((signal) => Promise.all(ids.map((id) => get("/api/v1/runs/{run_id}", {
    path: { run_id: id }, signal }))), [ids.join(",")]);
  const list = (runs.data ?? []) as Run[];
  const diff = useMemo(() => diffConfigs(list.map((r) => r.config)), [list]);
  const metric = useMemo(() => sweepMetric(list.map((r) => r.summary)), [list]);
  const fields = useMemo(() => distinctFields(summaryFields(list.map((r) => r.summary)), metric),
                         [list, metric]);
  // Runs of different tasks may have different primary metrics: their "primary" rows then
  // hold different things, and none of them is best.
  const mixed = new Set(list.map((r) => primaryMetric(r.summary)?.name)
    .filter((n) => n != null)).size > 1;
  const primary = mixed ? null : metric?.name;
  const key = loc.query.get("key") ?? defaultCurveKey(primary);
  const keyOptions = curveKeys([primary ?? "accuracy", ...metricNames(fields)], key);
  const names = useMemo(() => Object.fromEntries(list.map((r) => [r.id, `#${r.id} ${r.variant}`])),
                        [list]);
  const shown = all ? diff : diff.filter((d) => d.differs);

  return (
    <section aria-labelledby="compare-title" data-testid="compare-page">
      <header class="page-head">
        <h1 id="compare-title">Compare {ids.length} runs</h1>
        <form class="inline-form" onSubmit={(e) => {
          e.preventDefault();
          const extra = parseIds(addText);
          if (extra.length) setQuery({ runs: [...ids, ...extra].slice(0, 10) });
          setAddText("");
        }}>
          <label>Add run ids
            <input type="text" value={addText} placeholder="e.g. 12,15"
                   onInput={(e) => setAddText(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={ids.length >= 10}>Add</button>
        </form>
      </header>
      {ids.length < 2 && <p class="error" role="alert">Pick at least 2 runs (at most 10), e.g.
        from a sweep's runs table.</p>}
      <ErrorNote error={runs.error} />
      {runs.loading && !runs.data ? <Loading what="runs" /> : (
        <>
          <div class="panel">
            <h2>Summary</h2>
            <div class="scroll-x">
              <table class="grid compact compare" data-testid="compare-summary">
                <thead>
                  <tr><th scope="col">field</th>{list.map((r) => (
                    <th scope="col" key={r.id}>
                      <a href={`/runs/${r.id}`}>#{r.id}</a> {r.variant} s{r.seed}{" "}
                      <StatusBadge status={r.status} />
                      <button type="button" class="link small" aria-label={`remove run ${r.id}`}
                              onClick={() => setQuery({ runs: ids.filter((i) => i !== r.id) })}>
                        ✕</button>
                    </th>))}</tr>
                </thead>
                <tbody>
                  {fields.map((f) => {
                    const speeds = isSpeedupPath(f) ? list.map((r) => speedupAt(r, f)) : null;
                    // A speedup that is noise ranks as 1.0: it cannot be the best of a row.
                    const values = speeds ? speeds.map(rankedSpeedup)
                      : list.map((r) => numberAt(r, f));
                    const fmt = metricFieldFormat(f, primary) ?? cell;
                    const best = mixed && f.startsWith("summary.metric.") ? -1
                      : bestIndex(values, lowerIsBetter(f, metric));
                    return (
                      <tr key={f}>
                        <th scope="row">{fieldLabel(f, primary)}</th>
                        {values.map((v, i) => {
                          const speed = speeds?.[i] ?? null;
                          return (
                            <td key={i} class={`num ${i === best ? "best" : ""}`}
                                title={intervalTitle(speed) || undefined}>
                              {speeds ? speedupText(speed) : fmt(v)}</td>);
                        })}
                      </tr>);
                  })}
                </tbody>
              </table>
            </div>
          </div>
          <div class="panel">
            <div class="panel-head">
              <h2>Curves</h2>
              <label>Metric
                <select value={key} onChange={(e) => setQuery({ key: e.currentTarget.value })}>
                  {keyOptions.map((k) => <option key={k} value={k}>{k}</option>)}
                </select>
              </label>
            </div>
            <Curves runIds={ids} metricKeys={[key]} names={names} title={key}
                    testId="compare-curves" />
          </div>
          <div class="panel">
            <div class="panel-head">
              <h2>Config diff <span class="muted small">
                {diff.filter((d) => d.differs).length} of {diff.length} fields differ</span></h2>
              <label class="inline">
                <input type="checkbox" checked={all}
                       onChange={(e) => setQuery({ all: e.currentTarget.checked ? "1" : null })} />
                show equal fields too
              </label>
            </div>
            <div class="scroll-x">
              <table class="grid compact compare" data-testid="config-diff">
                <thead><tr><th scope="col">field</th>
                  {list.map((r) => <th scope="col" key={r.id}>#{r.id}</th>)}</tr></thead>
                <tbody>
                  {shown.map((d) => (
                    <tr key={d.path} class={d.differs ? "differs" : ""}
                        data-differs={d.differs ? "true" : "false"}>
                      <th scope="row"><code>{d.path}</code></th>
                      {d.values.map((v, i) => <td key={i}><code>{v}</code></td>)}
                    </tr>))}
                </tbody>
              </table>
            </div>
          </div>
        </>
      )}
    </section>
  );
}
