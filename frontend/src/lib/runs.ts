// Run-level helpers used by several pages.

import type { Run } from "../api/client";
import { recipeOf } from "./pareto";

/** The recipe a run belongs to ("baseline" for the dense runs). */
export function recipeOfRun(run: Pick<Run, "kind" | "variant" | "config">): string {
  if (run.kind === "baseline") return "baseline";
  const recipe = (run.config as { recipe?: { name?: unknown } }).recipe;
  return typeof recipe?.name === "string" ? recipe.name : recipeOf(run.variant, run.kind);
}

/** Replace runs by id (live updates), keeping order; unknown ids are appended. */
export function mergeRuns(runs: readonly Run[], updates: readonly Run[]): Run[] {
  const byId = new Map(updates.map((r) => [r.id, r]));
  const out = runs.map((r) => byId.get(r.id) ?? r);
  const known = new Set(runs.map((r) => r.id));
  for (const u of updates) if (!known.has(u.id)) out.push(u);
  return out;
}
