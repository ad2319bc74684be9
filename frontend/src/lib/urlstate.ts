// Page state held in the URL query, so that a link reproduces the view.

/** "3,1,2" -> [3, 1, 2]; junk and duplicates dropped. */
export function parseIds(text: string | null | undefined): number[] {
  if (!text) return [];
  const out: number[] = [];
  for (const part of text.split(",")) {
    const n = Number(part.trim());
    if (Number.isInteger(n) && n > 0 && !out.includes(n)) out.push(n);
  }
  return out;
}

export function formatIds(ids: number[]): string {
  return ids.join(",");
}

export interface Sort {
  field: string;
  desc: boolean;
}

/** "-summary.accuracy" -> {field: "summary.accuracy", desc: true}. */
export function parseSort(text: string | null | undefined, fallback: Sort): Sort {
  if (!text) return fallback;
  const desc = text.startsWith("-");
  const field = text.replace(/^[-+]/, "");
  return field ? { field, desc } : fallback;
}

export function formatSort(sort: Sort): string {
  return `${sort.desc ? "-" : ""}${sort.field}`;
}

/** Clicking a column header: same column flips the direction; a new summary field sorts best
 * first (descending, or ascending where ``lowerIsBetter``), other columns ascending. */
export function nextSort(current: Sort, field: string, lowerIsBetter = false): Sort {
  if (current.field === field) return { field, desc: !current.desc };
  return { field, desc: field.startsWith("summary.") && !lowerIsBetter };
}

/** ``search`` with ``updates`` applied; null, "" and [] remove a key. Keys keep their order. */
export function withParams(search: string,
                           updates: Record<string, string | number | number[] | null | undefined>):
    string {
  const params = new URLSearchParams(search);
  for (const [key, value] of Object.entries(updates)) {
    const text = Array.isArray(value) ? formatIds(value) : value == null ? "" : String(value);
    if (text === "") params.delete(key);
    else params.set(key, text);
  }
  const out = params.toString().replace(/%2C/g, ",");
  return out ? `?${out}` : "";
}

/** Toggle ``id`` in a selection, keeping at most ``max`` (the oldest drops out). */
export function toggleId(ids: number[], id: number, max = 10): number[] {
  if (ids.includes(id)) return ids.filter((x) => x !== id);
  const next = [...ids, id];
  return next.length > max ? next.slice(next.length - max) : next;
}
