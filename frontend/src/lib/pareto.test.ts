import { describe, expect, it } from "vitest";
import { type ParetoPoint, paretoQuery, paretoView, recipeOf } from "./pareto";
import { fieldLabel, numberAt, paretoAxes, summaryFields, summaryShape } from "./summary";

const point = (variant: string, x: number, y: number, on_front: boolean,
               extra: Partial<ParetoPoint> = {}): ParetoPoint => ({
  variant, kind: "compress", run_ids: [1], seeds: 1, x_mean: x, x_std: 0, y_mean: y, y_std: 0,
  on_front, ...extra });

describe("paretoView", () => {
  it("splits front and dominated, orders the front line, finds the baseline", () => {
    const view = paretoView([
      point("baseline", 0, 0.97, false, { kind: "baseline" }),
      point("agp/0.9", 0.9, 0.94, true),
      point("channels", 0.65, 0.972, true),
      point("nm", 0.5, 0.96, false, { seeds: 3, x_std: 0, y_std: 0.01 }),
    ]);
    expect(view.pointCount).toBe(4);
    expect(view.front.map((p) => p[2])).toEqual([1, 2]);
    expect(view.dominated.map((p) => p[2])).toEqual([0, 3]);
    expect(view.frontLine).toEqual([[0.65, 0.972], [0.9, 0.94]]);
    expect(view.errorBars).toEqual([[0.5, 0.96, 0, 0.01]]);
    expect(view.baselineY).toBe(0.97);
  });

  it("has no baseline line without a baseline point", () => {
    expect(paretoView([point("a", 1, 1, true)]).baselineY).toBeNull();
    expect(paretoView([]).pointCount).toBe(0);
  });

  it("builds the API query with each axis's goal", () => {
    expect(paretoQuery({ path: "summary.size_bytes.stored", label: "s", goal: "min",
                         kind: "bytes" },
                       { path: "summary.metric.value", label: "perplexity", goal: "min",
                         kind: "number" }))
      .toEqual({ x: "summary.size_bytes.stored", y: "summary.metric.value", x_goal: "min",
                 y_goal: "min" });
    expect(recipeOf("agp/final_sparsity=0.9")).toBe("agp");
    expect(recipeOf("agp[final_sparsity=0.9]")).toBe("agp");
    expect(recipeOf("channels")).toBe("channels");
    expect(recipeOf("anything", "baseline")).toBe("baseline");
  });
});

describe("summary paths", () => {
  const summary = { accuracy: 0.9, size_bytes: { stored: 10 }, layer_sparsity: { fc1: 0.5 },
                    latency_ms: { torch: { "64": { p50: 0.3, p90: 0.4 }, "1": { p50: 0.1 } },
                                  onnxruntime: { "1": { p50: 0.05 } } } };

  it("reads numbers by dotted path", () => {
    expect(numberAt({ summary }, "summary.latency_ms.torch.64.p50")).toBe(0.3);
    expect(numberAt({ summary }, "summary.nope.x")).toBeNull();
    expect(numberAt({ summary: null }, "summary.accuracy")).toBeNull();
  });

  it("lists numeric fields, skipping per-layer tables", () => {
    const fields = summaryFields([summary]);
    expect(fields).toContain("summary.accuracy");
    expect(fields).toContain("summary.latency_ms.torch.64.p90");
    expect(fields.some((f) => f.includes("layer_sparsity"))).toBe(false);
  });

  it("samples only runs that have a summary, so queued runs do not hide the fields", () => {
    const queued = Array.from({ length: 300 }, () => null);
    expect(summaryFields([...queued, summary], 200)).toContain("summary.accuracy");
  });

  it("keys the shape by its fields and metric, whatever order runs come in", () => {
    const a = { metric: { name: "perplexity", goal: "min", value: 9, baseline: 8, drop: 1 },
                sparsity: 0.5 };
    const b = { sparsity: 0.9, metric: { name: "perplexity", goal: "min", value: 12,
                                         baseline: 8, drop: 4 } };
    const shape = summaryShape([null, a, b]);
    expect(shape.metric).toEqual({ name: "perplexity", goal: "min", legacy: false });
    expect(summaryShape([b, a]).key).toBe(shape.key);
    expect(summaryShape([null]).key).not.toBe(shape.key);
    expect(summaryShape([{ ...a, sparsity: undefined }]).key).not.toBe(shape.key);
  });

  it("labels the primary metric's fields by its name", () => {
    expect(fieldLabel("summary.metric.value", "macro_f1")).toBe("macro_f1 (primary)");
    expect(fieldLabel("summary.metric.drop", "macro_f1")).toBe("macro_f1 drop (primary)");
    expect(fieldLabel("summary.metric.value")).toBe("metric (primary)");
    expect(fieldLabel("summary.metrics.top5_accuracy")).toBe("top5_accuracy");
    expect(fieldLabel("summary.baseline_metrics.loss")).toBe("loss baseline");
    expect(fieldLabel("summary.accuracy_drop")).toBe("accuracy drop");
  });

  it("offers p50 latency axes per runtime and batch, in order", () => {
    const axes = paretoAxes(summaryFields([summary]));
    expect(axes.map((a) => a.label)).toEqual([
      "sparsity", "stored size", "MACs (effective)", "p50 latency, onnxruntime, batch 1",
      "p50 latency, torch, batch 1", "p50 latency, torch, batch 64"]);
    expect(axes[0]!.goal).toBe("max");
    expect(axes.at(-1)!.goal).toBe("min");
    expect(fieldLabel("summary.latency_ms.torch.64.p50")).toBe("p50 torch@64 (ms)");
    expect(fieldLabel("summary.speedup.torch.64")).toBe("speedup torch@64");
  });
});
