import { useState } from "preact/hooks";
import { ApiError, type FieldProblem, post, type SweepPlan } from "../api/client";
import { navigate } from "../router";

const EXAMPLE = `name: quick
task: digits-mlp
seeds: [0]
baseline: {epochs: 10, optimizer: {name: adam, lr: 3.0e-3}}
recipes:
  - name: agp
    prune: {granularity: unstructured, scope: global}
    schedule: {kind: agp, final_sparsity: [0.5, 0.9], end_epoch: 3, frequency: 5}
    finetune: {epochs: 5}
`;

type Outcome =
  | { kind: "plan"; plan: SweepPlan; text: string }
  | { kind: "invalid"; detail: string; errors: FieldProblem[] }
  | { kind: "error"; message: string };

function outcomeOf(exc: unknown): Outcome {
  if (exc instanceof ApiError && exc.status === 422) {
    return { kind: "invalid", detail: exc.detail, errors: exc.errors };
  }
  return { kind: "error", message: exc instanceof Error ? exc.message : String(exc) };
}

/** Paste or upload a spec; a dry run shows the expansion or the errors, then submit. */
export function SubmitPage() {
  const [text, setText] = useState("");
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [busy, setBusy] = useState(false);

  async function dryRun(): Promise<void> {
    setBusy(true);
    try {
      const plan = await post("/api/v1/sweeps", { query: { dry_run: true }, body: text,
                                                  contentType: "application/yaml" });
      setOutcome({ kind: "plan", plan: plan as SweepPlan, text });
    } catch (exc) {
      setOutcome(outcomeOf(exc));
    } finally {
      setBusy(false);
    }
  }

  async function submit(): Promise<void> {
    setBusy(true);
    try {
      const created = await post("/api/v1/sweeps", { body: text, contentType: "application/yaml" });
      navigate(`/sweeps/${(created as unknown as { id: number }).id}`);
    } catch (exc) {
      setOutcome(outcomeOf(exc));
    } finally {
      setBusy(false);
    }
  }

  async function upload(file: File | undefined): Promise<void> {
    if (!file) return;
    setText(await file.text());
    setOutcome(null);
  }

  const validated = outcome?.kind === "plan" && outcome.text === text;
  return (
    <section aria-labelledby="submit-title" data-testid="submit-page">
      <header class="page-head"><h1 id="submit-title">Submit a sweep</h1></header>
      <div class="two-col">
        <div class="panel">
          <label for="spec-text">Sweep spec (YAML or JSON)</label>
          <textarea id="spec-text" rows={22} spellcheck={false} value={text} class="code"
                    placeholder={EXAMPLE}
                    onInput={(e) => setText(e.currentTarget.value)} />
          <div class="actions">
            <label class="file">Upload a spec file
              <input type="file" accept=".yaml,.yml,.json,text/yaml,application/json"
                     onChange={(e) => void upload(e.currentTarget.files?.[0])} />
            </label>
            <button type="button" onClick={() => { setText(EXAMPLE); setOutcome(null); }}>
              Load example</button>
            <span class="spacer" />
            <button type="button" disabled={busy || !text.trim()} onClick={() => void dryRun()}>
              Validate (dry run)</button>
            <button type="button" class="primary" disabled={busy || !validated}
                    title={validated ? "" : "validate the current text first"}
                    onClick={() => void submit()}>Submit sweep</button>
          </div>
        </div>
        <div class="panel" aria-live="polite" data-testid="dry-run-result">
          {outcome == null && <p class="muted">Validate the spec to see the runs it expands to.
            Nothing is stored until you submit.</p>}
          {outcome?.kind === "plan" && (
            <>
              <p class="ok" data-testid="expansion">
                Valid: <b>{outcome.plan.name}</b> on {outcome.plan.task} expands to{" "}
                <b data-testid="run-count">{outcome.plan.run_count}</b> runs
                ({outcome.plan.baseline_count} baseline).
                {outcome.text !== text && " (the text changed since: validate again)"}
              </p>
              <table class="grid compact">
                <thead><tr><th>run</th><th>kind</th><th>seed</th><th>queue</th></tr></thead>
                <tbody>
                  {outcome.plan.runs.slice(0, 200).map((r) => (
                    <tr key={r.name}><td>{r.name}</td><td>{r.kind}</td><td>{r.seed}</td>
                      <td>{r.queue}</td></tr>))}
                </tbody>
              </table>
              {/* runs is the first page of the expansion; run_count counts every run */}
              {outcome.plan.run_count > 200 && <p class="muted">…and {outcome.plan.run_count - 200} more.</p>}
            </>
          )}
          {outcome?.kind === "invalid" && (
            <div role="alert" data-testid="spec-errors">
              <p class="error">Invalid spec: {outcome.detail}</p>
              <table class="grid compact">
                <thead><tr><th scope="col">field</th><th scope="col">problem</th></tr></thead>
                <tbody>
                  {outcome.errors.map((e, i) => (
                    <tr key={i}><td><code class="pointer">{e.pointer || "/"}</code></td>
                      <td>{e.detail}</td></tr>))}
                </tbody>
              </table>
            </div>
          )}
          {outcome?.kind === "error" && <p class="error" role="alert">{outcome.message}</p>}
        </div>
      </div>
    </section>
  );
}
