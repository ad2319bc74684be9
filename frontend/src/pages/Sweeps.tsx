import { useEffect, useRef, useState } from "preact/hooks";
import { get, type Sweep } from "../api/client";
import { ErrorNote, GateBadge, Loading, SourceCell, StatusBadge, StatusCounts } from "../components/bits";
import { LiveDot, useFetch, useLive } from "../hooks";
import { ago, datetime } from "../lib/format";
import { setQuery, type Location } from "../router";

const STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
const SOURCES = ["api", "cli", "ci", "webhook"] as const;
type Status = (typeof STATUSES)[number];
type Source = (typeof SOURCES)[number];

/** The sweeps list: search, filters and the page cursor live in the URL. */
export function SweepsPage({ loc }: { loc: Location }) {
  const q = loc.query;
  const name = q.get("q") ?? "";
  const status = (q.get("status") ?? "") as Status | "";
  const source = (q.get("source") ?? "") as Source | "";
  const task = q.get("task") ?? "";
  const cursor = q.get("cursor") ?? "";
  const limit = Number(q.get("limit") ?? 50) || 50;
  const back = useRef<string[]>([]);
  const [search, setSearch] = useState(name);

  useEffect(() => setSearch(name), [name]);
  useEffect(() => {
    if (search === name) return;
    const t = setTimeout(() => setQuery({ q: search, cursor: null }), 250);
    return () => clearTimeout(t);
  }, [search]);

  const sweeps = useFetch((signal) => get("/api/v1/sweeps", { signal, query: {
    name: name || undefined, status: status || undefined, source: source || undefined,
    task: task || undefined, cursor: cursor || undefined, limit } }),
    [name, status, source, task, cursor, limit]);
  const live = useLive(null, (events) => {
    if (events == null || events.some((e) => e.type !== "worker")) sweeps.reload();
  });

  const items = (sweeps.data?.items ?? []) as Sweep[];
  return (
    <section aria-labelledby="sweeps-title">
      <header class="page-head">
        <h1 id="sweeps-title">Sweeps</h1>
        <LiveDot state={live} />
      </header>
      <form class="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>Search by name
          <input type="search" value={search} placeholder="substring"
                 onInput={(e) => setSearch(e.currentTarget.value)} />
        </label>
        <label>Status
          <select value={status} onChange={(e) => setQuery({ status: e.currentTarget.value, cursor: null })}>
            <option value="">any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Source
          <select value={source} onChange={(e) => setQuery({ source: e.currentTarget.value, cursor: null })}>
            <option value="">any</option>
            {SOURCES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Task
          <input type="text" value={task} placeholder="e.g. digits-mlp"
                 onChange={(e) => setQuery({ task: e.currentTarget.value, cursor: null })} />
        </label>
        <label>Per page
          <select value={String(limit)} onChange={(e) => setQuery({ limit: e.currentTarget.value, cursor: null })}>
            {[25, 50, 100, 200].map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
        </label>
      </form>
      <ErrorNote error={sweeps.error} />
      {sweeps.loading && !sweeps.data ? <Loading what="sweeps" /> : (
        <table class="grid list" data-testid="sweeps-table">
          <caption class="sr-only">Sweeps, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Task</th><th scope="col">Source</th>
              <th scope="col">Status</th><th scope="col">Runs</th><th scope="col">Gates</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id} data-sweep-id={s.id}>
                <td><a href={`/sweeps/${s.id}`}>{s.name}</a> <span class="muted">#{s.id}</span></td>
                <td>{s.task}</td>
                <td><SourceCell source={s.source} repo={s.repo} sha={s.sha} ref_={s.ref} /></td>
                <td><StatusBadge status={s.status} /></td>
                <td><StatusCounts counts={s.counts} /></td>
                <td><GateBadge gates={s.gates} /></td>
                <td title={datetime(s.created_at)}>{ago(s.created_at)}</td>
              </tr>
            ))}
            {items.length === 0 && (
              <tr><td colSpan={7} class="empty">No sweeps match. <a href="/submit">Submit one</a>.</td></tr>
            )}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="pages">
        <button type="button" disabled={!cursor} onClick={() => {
          setQuery({ cursor: back.current.pop() ?? null }, false);
        }}>← Newer</button>
        <button type="button" disabled={!sweeps.data?.next_cursor} onClick={() => {
          back.current.push(cursor);
          setQuery({ cursor: sweeps.data?.next_cursor ?? null }, false);
        }}>Older →</button>
      </nav>
    </section>
  );
}
