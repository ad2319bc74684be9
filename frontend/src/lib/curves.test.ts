import { describe, expect, it } from "vitest";
import type { Series } from "../api/client";
import { seriesLines, spliceDetail, stepExtent, wantsDetail, zoomWindow } from "./curves";

/** A series of ``n`` buckets ``width`` steps wide from ``from``; last = bucket's first step. */
function series(runId: number, key: string, from: number, n: number, width: number): Series {
  const buckets = Array.from({ length: n }, (_, i) => {
    const lo = from + i * width;
    return { step_min: lo, step_max: lo + width - 1, count: width, min: 0, max: 1, last: lo };
  });
  return { run_id: runId, key, total_points: n * width, buckets };
}

describe("zoom detail", () => {
  it("maps dataZoom percentages to steps", () => {
    expect(zoomWindow([0, 1000], 40, 41)).toEqual({ lo: 400, hi: 410 });
    expect(zoomWindow([100, 100], 0, 100)).toEqual({ lo: 100, hi: 100 });
  });

  it("finds the extent over several series, ignoring empty ones", () => {
    const empty = { run_id: 3, key: "k", total_points: 0, buckets: [] };
    expect(stepExtent([series(1, "k", 10, 5, 10), series(2, "k", 0, 2, 10), empty]))
      .toEqual([0, 59]);
    expect(stepExtent([empty])).toBeNull();
  });

  it("asks for detail only when zoomed into downsampled buckets", () => {
    const coarse = [series(1, "k", 0, 100, 100)];
    const raw = [series(1, "k", 0, 100, 1)];
    expect(wantsDetail(coarse, [0, 9999], { lo: 4000, hi: 4100 })).toBe(true);
    expect(wantsDetail(coarse, [0, 9999], { lo: 0, hi: 9999 })).toBe(false);
    expect(wantsDetail(raw, [0, 99], { lo: 40, hi: 50 })).toBe(false);
    expect(wantsDetail(coarse, [0, 9999], null)).toBe(false);
  });

  it("splices the detail into its own series and keeps the rest", () => {
    const overview = [series(1, "loss", 0, 10, 100), series(2, "loss", 0, 10, 100)];
    const detail = [series(1, "loss", 300, 20, 10)]; // steps 300..499, 10 per bucket
    const [one, two] = spliceDetail(overview, detail);
    expect(one!.buckets.map((b) => b.step_min)).toEqual([
      0, 100, 200, ...Array.from({ length: 20 }, (_, i) => 300 + 10 * i), 500, 600, 700, 800,
      900]);
    expect(two).toBe(overview[1]);
    const lines = seriesLines([one!], {}, false, false);
    expect(lines[0]!.points.length).toBe(28);
    expect(lines[0]!.name).toBe("loss");
  });
});
