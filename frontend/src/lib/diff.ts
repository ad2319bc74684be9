// Config diff across runs: flatten nested configs to dotted paths and compare values.

export interface DiffRow {
  path: string;
  /** one display string per run; "" where the run lacks the path */
  values: string[];
  differs: boolean;
}

function display(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** ``{a: {b: 1}, c: [1, 2]}`` -> ``{"a.b": 1, "c": [1, 2]}``; lists stay whole values. */
export function flatten(value: unknown, prefix = "", out: Map<string, unknown> = new Map()):
    Map<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [key, child] of entries) flatten(child, prefix ? `${prefix}.${key}` : key, out);
  } else if (prefix) {
    out.set(prefix, value);
  }
  return out;
}

/** One row per path present in any config, in first-seen order; differing rows flagged. */
export function diffConfigs(configs: unknown[]): DiffRow[] {
  const flat = configs.map((c) => flatten(c));
  const paths: string[] = [];
  const seen = new Set<string>();
  for (const f of flat) {
    for (const path of f.keys()) {
      if (!seen.has(path)) {
        seen.add(path);
        paths.push(path);
      }
    }
  }
  return paths.map((path) => {
    const values = flat.map((f) => display(f.get(path)));
    return { path, values, differs: values.some((v) => v !== values[0]) };
  });
}
