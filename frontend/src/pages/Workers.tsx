import { useEffect } from "preact/hooks";
import { get, type Worker } from "../api/client";
import { ErrorNote, Loading } from "../components/bits";
import { LiveDot, useFetch, useLive } from "../hooks";
import { ago, datetime } from "../lib/format";
import { checkVersion } from "../lib/versions";

// Registrations and run changes arrive over SSE; heartbeats are not pushed (one per worker
// every few seconds), so "last heartbeat" and alive/silent are refreshed on a timer.
const REFRESH_MS = 30_000;

function hardware(hw: Record<string, unknown>): string {
  return ["cpu", "gpu", "threads", "torch"].filter((k) => hw[k] != null)
    .map((k) => `${k} ${String(hw[k])}`).join(", ") || "–";
}

function VersionCell({ version, api }: { version: string | null; api: string | undefined }) {
  const check = checkVersion(version, api);
  return (
    <td title={check.title || undefined}>
      {check.text}
      {check.differs && <> <span class="badge s-failed">differs from API</span></>}
    </td>
  );
}

/** Registered workers: live on registrations and run changes, refreshed every 30 s; a worker
 * whose squeezelab version is not the API's is flagged. */
export function WorkersPage() {
  const workers = useFetch((signal) => get("/api/v1/workers", { signal }), []);
  const live = useLive(null, (events) => {
    if (events == null || events.some((e) => e.type === "worker")) workers.reload();
  });
  useEffect(() => {
    const t = setInterval(workers.reload, REFRESH_MS);
    return () => clearInterval(t);
  }, []);
  const items = (workers.data?.items ?? []) as Worker[];
  const apiVersion = workers.data?.api_version;
  // Silent workers are history; the warning is about the ones taking runs now.
  const differing = items.filter((w) => w.alive && checkVersion(w.version, apiVersion).differs)
    .length;
  return (
    <section aria-labelledby="workers-title">
      <header class="page-head"><h1 id="workers-title">Workers</h1><LiveDot state={live} />
      </header>
      <ErrorNote error={workers.error} />
      {differing > 0 && (
        <p class="warn-box" data-testid="version-warning">
          {differing === 1 ? "1 live worker runs" : `${differing} live workers run`} a squeezelab version
          other than the API's ({apiVersion}): their results may not match the others'.
        </p>
      )}
      {workers.loading && !workers.data ? <Loading what="workers" /> : (
        <table class="grid list" data-testid="workers-table">
          <thead>
            <tr><th scope="col">hostname</th><th scope="col">id</th><th scope="col">queues</th>
              <th scope="col">version</th><th scope="col">hardware</th>
              <th scope="col">current run</th>
              <th scope="col">last heartbeat</th><th scope="col">state</th></tr>
          </thead>
          <tbody>
            {items.map((w) => (
              <tr key={w.id}>
                <td>{w.hostname}</td><td><code>{w.id}</code></td><td>{w.queues.join(", ")}</td>
                <VersionCell version={w.version} api={apiVersion} />
                <td>{hardware(w.hardware)}</td>
                <td>{w.current_run_id ? <a href={`/runs/${w.current_run_id}`}>run {w.current_run_id}</a>
                  : <span class="muted">idle</span>}</td>
                <td title={datetime(w.last_heartbeat)}>{ago(w.last_heartbeat)}</td>
                <td>{w.alive ? <span class="badge s-succeeded">alive</span>
                  : <span class="badge s-failed">silent</span>}</td>
              </tr>))}
            {items.length === 0 && <tr><td colSpan={8} class="empty">No workers registered.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}
