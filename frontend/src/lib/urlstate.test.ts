import { describe, expect, it } from "vitest";
import { sortRows } from "./table";
import { formatSort, nextSort, parseIds, parseSort, toggleId, withParams } from "./urlstate";

describe("URL state", () => {
  it("parses id lists, dropping junk and duplicates", () => {
    expect(parseIds("3,1,x,2,3,-4,0")).toEqual([3, 1, 2]);
    expect(parseIds(null)).toEqual([]);
  });

  it("round-trips sort specs and flips direction on the same column", () => {
    const s = parseSort("-summary.accuracy", { field: "id", desc: false });
    expect(s).toEqual({ field: "summary.accuracy", desc: true });
    expect(formatSort(s)).toBe("-summary.accuracy");
    expect(parseSort("", { field: "id", desc: false })).toEqual({ field: "id", desc: false });
    expect(nextSort(s, "summary.accuracy")).toEqual({ field: "summary.accuracy", desc: false });
    expect(nextSort(s, "seed")).toEqual({ field: "seed", desc: false });
    expect(nextSort(s, "summary.sparsity").desc).toBe(true);
    // best first: a metric where lower is better (perplexity) sorts ascending
    expect(nextSort(s, "summary.metric.value", true)).toEqual({ field: "summary.metric.value",
                                                                desc: false });
  });

  it("updates query strings, removing empty values and keeping commas readable", () => {
    expect(withParams("?x=1&sel=2", { sel: [2, 5], recipe: "agp" })).toBe("?x=1&sel=2,5&recipe=agp");
    expect(withParams("?x=1", { x: null })).toBe("");
    expect(withParams("", { q: "" })).toBe("");
  });

  it("toggles selections, keeping at most max", () => {
    expect(toggleId([1, 2], 2)).toEqual([1]);
    expect(toggleId([1, 2], 3, 2)).toEqual([2, 3]);
  });
});

describe("sortRows", () => {
  const rows = [
    { id: 1, summary: { accuracy: 0.9 } },
    { id: 2, summary: null },
    { id: 3, summary: { accuracy: 0.95 } },
    { id: 4, summary: { accuracy: 0.9 } },
  ];
  it("sorts by summary fields with missing values last, ties by id", () => {
    expect(sortRows(rows, "summary.accuracy", true).map((r) => r.id)).toEqual([3, 1, 4, 2]);
    expect(sortRows(rows, "summary.accuracy", false).map((r) => r.id)).toEqual([1, 4, 3, 2]);
  });
  it("sorts strings naturally", () => {
    const named = [{ id: 1, v: "agp/s=10" }, { id: 2, v: "agp/s=9" }];
    expect(sortRows(named, "v", false).map((r) => r.id)).toEqual([2, 1]);
  });
});
