import { describe, expect, it } from "vitest";
import {
  bestSpeedup, intervalRange, intervalTitle, isSpeedupPath, NOISE_TEXT, rankedSpeedup, speedupAt,
  speedupText,
} from "./speedup";
import { summaryFields } from "./summary";

const summary = {
  latency_ms: { torch: { "1": { p50: 0.1, p90: 0.2 }, "64": { p50: 0.4, p90: 0.5 } },
                onnxruntime: { "64": { p50: 0.3, p90: 0.4 } } },
  speedup: { torch: { "1": 1.17, "64": 1.83 }, onnxruntime: { "64": 1.4 } },
  speedup_interval: {
    torch: { "1": { lo: 0.94, hi: 1.31, noise: true }, "64": { lo: 1.71, hi: 1.95, noise: false } },
    onnxruntime: { "64": { lo: 0.98, hi: 1.9, noise: true } },
  },
};

describe("speedups with an interval", () => {
  it("shows a speedup whose interval contains 1.0 as noise, not as its ratio", () => {
    const noisy = speedupAt(summary, "speedup.torch.1");
    expect(noisy).toEqual({ value: 1.17, interval: { lo: 0.94, hi: 1.31, noise: true } });
    expect(speedupText(noisy)).toBe(NOISE_TEXT);
    expect(NOISE_TEXT).toBe("≈1.0× (noise)");
    expect(intervalRange(noisy)).toBe("0.94–1.31×");
    expect(intervalTitle(noisy)).toBe(
      "measured 1.17×; 95% interval 0.94–1.31× (contains 1.0: no measurable change in speed)");
    expect(rankedSpeedup(noisy)).toBe(1);
  });

  it("shows a clear speedup as its ratio, with the interval in the tooltip", () => {
    const clear = speedupAt({ summary }, "summary.speedup.torch.64");
    expect(speedupText(clear)).toBe("1.83×");
    expect(intervalTitle(clear)).toBe(
      "measured 1.83×; 95% interval 1.71–1.95× (faster than the dense model)");
    expect(rankedSpeedup(clear)).toBe(1.83);
    const slower = { value: 0.6, interval: { lo: 0.55, hi: 0.66, noise: false } };
    expect(intervalTitle(slower)).toContain("slower than the dense model");
  });

  it("shows the bare ratio without an interval (a baseline, an older worker)", () => {
    const baseline = speedupAt({ speedup: { torch: { "64": 1 } } }, "speedup.torch.64");
    expect(baseline).toEqual({ value: 1, interval: null });
    expect(speedupText(baseline)).toBe("1.00×");
    expect(intervalRange(baseline)).toBe("–");
    expect(intervalTitle(baseline)).toBe("");
    const odd = speedupAt({ speedup: { torch: { "1": 2 } },
                            speedup_interval: { torch: { "1": { lo: "x" } } } },
                          "speedup.torch.1");
    expect(odd?.interval).toBeNull();
    expect(speedupAt(summary, "speedup.torch.8")).toBeNull();
    expect(speedupText(null)).toBe("–");
  });

  it("picks the best speedup with noise counted as 1.0", () => {
    const best = bestSpeedup(summary);
    expect(best?.runtime).toBe("torch");
    expect(best?.batch).toBe("64");
    const allNoise = { speedup: { torch: { "1": 1.2, "8": 1.1 } }, speedup_interval: { torch: {
      "1": { lo: 0.9, hi: 1.5, noise: true }, "8": { lo: 0.95, hi: 1.2, noise: true } } } };
    expect(speedupText(bestSpeedup(allNoise)!.reading)).toBe(NOISE_TEXT);
    expect(bestSpeedup({ latency_ms: {} })).toBeNull();
    expect(bestSpeedup({ speedup: { torch: { "1": 1.5 } } })?.reading.value).toBe(1.5);
  });

  it("recognises speedup paths and keeps intervals out of the field lists", () => {
    expect(isSpeedupPath("summary.speedup.torch.64")).toBe(true);
    expect(isSpeedupPath("speedup.onnxruntime.1")).toBe(true);
    expect(isSpeedupPath("summary.speedup_interval.torch.64.lo")).toBe(false);
    expect(isSpeedupPath("summary.latency_ms.torch.64.p50")).toBe(false);
    const fields = summaryFields([summary]);
    expect(fields).toContain("summary.speedup.torch.64");
    expect(fields.some((f) => f.includes("speedup_interval"))).toBe(false);
  });
});
