import { describe, expect, it } from "vitest";
import { diffConfigs, flatten } from "./diff";

describe("config diff", () => {
  it("flattens nested objects, keeping lists whole", () => {
    expect([...flatten({ a: { b: 1, c: [1, 2] }, d: null, e: {} }).entries()])
      .toEqual([["a.b", 1], ["a.c", [1, 2]], ["d", null], ["e", {}]]);
  });

  it("flags differing paths, including paths only some runs have", () => {
    const rows = diffConfigs([
      { recipe: { name: "agp", sparsity: 0.9 }, seed: 0 },
      { recipe: { name: "agp", sparsity: 0.5 }, seed: 0 },
      { recipe: { name: "agp", sparsity: 0.5, extra: true }, seed: 0 },
    ]);
    const byPath = Object.fromEntries(rows.map((r) => [r.path, r]));
    expect(byPath["recipe.name"]!.differs).toBe(false);
    expect(byPath["recipe.sparsity"]!.differs).toBe(true);
    expect(byPath["recipe.sparsity"]!.values).toEqual(["0.9", "0.5", "0.5"]);
    expect(byPath["recipe.extra"]!.values).toEqual(["", "", "true"]);
    expect(byPath["recipe.extra"]!.differs).toBe(true);
    expect(rows.map((r) => r.path)).toEqual(["recipe.name", "recipe.sparsity", "seed",
                                             "recipe.extra"]);
  });
});
