// Sorting and filtering runs on the client (the sweep page holds up to tens of thousands).

import { getPath } from "./summary";

/** The value a run shows in column ``field``: a run column or a summary path. */
export function fieldValue(row: object, field: string): unknown {
  return getPath(row, field);
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** A sorted copy; missing values always last, ties broken by id. */
export function sortRows<T extends { id: number }>(rows: readonly T[], field: string,
                                                   desc: boolean): T[] {
  const keyed = rows.map((row) => ({ row, key: fieldValue(row, field) }));
  keyed.sort((a, b) => {
    const am = a.key == null || a.key === "";
    const bm = b.key == null || b.key === "";
    if (am !== bm) return am ? 1 : -1;
    if (!am) {
      const c = compare(a.key, b.key);
      if (c !== 0) return desc ? -c : c;
    }
    return a.row.id - b.row.id;
  });
  return keyed.map((k) => k.row);
}
