import { describe, expect, it } from "vitest";
import {
  curveKeys, defaultCurveKey, defaultGoal, distinctFields, dropFrom, formatDrop, formatMetric,
  fp32Metrics, isFraction, lowerIsBetter, metricAxes, metricFieldFormat, metricPaths,
  primaryMetric, runCharts, sweepMetric, taskMetrics,
} from "./metric";
import { sensitivityView } from "./sensitivity";

const F1 = {
  metric: { name: "macro_f1", goal: "max" as const, value: 0.91, baseline: 0.93, drop: 0.02 },
  metrics: { accuracy: 0.95, macro_f1: 0.91, loss: 0.3 }, accuracy: 0.95, accuracy_drop: 0.01 };
const PPL = {
  metric: { name: "perplexity", goal: "min" as const, value: 12.5, baseline: 10, drop: 2.5 },
  metrics: { perplexity: 12.5, loss: 2.53 } };
const OLD = { accuracy: 0.96, baseline_accuracy: 0.97, accuracy_drop: 0.01 };

describe("primary metric", () => {
  it("reads the metric block, and accuracy from summaries that predate it", () => {
    expect(primaryMetric(F1)).toEqual({ name: "macro_f1", goal: "max", value: 0.91,
                                        baseline: 0.93, drop: 0.02 });
    expect(primaryMetric(OLD)).toEqual({ name: "accuracy", goal: "max", value: 0.96,
                                         baseline: 0.97, drop: 0.01 });
    expect(primaryMetric({ accuracy: 0.9 })!.drop).toBeNull();
    expect(primaryMetric(null)).toBeNull();
    expect(primaryMetric({ sparsity: 0.5 })).toBeNull();
  });

  it("takes the sweep's metric from the first summary with a block, skipping queued runs", () => {
    expect(sweepMetric([null, OLD, PPL])).toEqual({ name: "perplexity", goal: "min",
                                                     legacy: false });
    expect(sweepMetric([null, OLD])).toEqual({ name: "accuracy", goal: "max", legacy: true });
    expect(sweepMetric([null, {}])).toBeNull();
    // a block without a goal: the built-in direction of its name
    expect(sweepMetric([{ metric: { name: "loss", value: 1 } }])!.goal).toBe("min");
  });

  it("lists every metric, and the fp32 model's, from new and old summaries", () => {
    expect(taskMetrics(PPL)).toEqual({ perplexity: 12.5, loss: 2.53 });
    expect(taskMetrics(OLD)).toEqual({ accuracy: 0.96 });
    expect(taskMetrics({})).toEqual({});
    expect(fp32Metrics({ fp32_metrics: { perplexity: 11 } })).toEqual({ perplexity: 11 });
    expect(fp32Metrics({ fp32_accuracy: 0.97 })).toEqual({ accuracy: 0.97 });
    expect(fp32Metrics({})).toEqual({});
  });

  it("counts a drop as positive when worse, for either goal", () => {
    expect(dropFrom(10, 12.5, "min")).toBe(2.5);
    expect(dropFrom(0.93, 0.91, "max")).toBeCloseTo(0.02);
    expect(dropFrom(undefined, 1, "max")).toBeNull();
  });

  it("knows built-in goals and which metrics are fractions", () => {
    expect(defaultGoal("perplexity")).toBe("min");
    expect(defaultGoal("loss")).toBe("min");
    expect(defaultGoal("macro_f1")).toBe("max");
    expect(defaultGoal("my_score")).toBe("max");
    expect(["accuracy", "top5_accuracy", "macro_f1"].every(isFraction)).toBe(true);
    expect(["perplexity", "loss"].some(isFraction)).toBe(false);
  });
});

describe("formatting a metric", () => {
  it("shows fractions as percent and points, others as plain numbers", () => {
    expect(formatMetric("macro_f1", 0.91)).toBe("91.00%");
    expect(formatDrop("top5_accuracy", 0.02)).toBe("+2.00 pp");
    expect(formatMetric("perplexity", 12.3456)).toBe("12.35");
    expect(formatDrop("perplexity", 2.5)).toBe("+2.5");
    expect(formatDrop("loss", -0.012345)).toBe("−0.01235");
    expect(formatMetric("loss", null)).toBe("–");
  });

  it("formats a summary's metric fields by metric, and leaves the others alone", () => {
    expect(metricFieldFormat("summary.metric.drop", "macro_f1")!(0.02)).toBe("+2.00 pp");
    expect(metricFieldFormat("summary.metric.value", "perplexity")!(12.5)).toBe("12.5");
    expect(metricFieldFormat("summary.metric.value", null)).toBeNull();
    expect(metricFieldFormat("summary.baseline_metrics.accuracy", null)!(0.5)).toBe("50.00%");
    expect(metricFieldFormat("summary.sparsity", "accuracy")).toBeNull();
  });
});

describe("axes and columns", () => {
  const fields = ["summary.metric.value", "summary.metrics.perplexity", "summary.metrics.loss",
                  "summary.metrics.odd.name", "summary.sparsity"];

  it("puts the primary metric first on y, with its goal, then the task's other metrics", () => {
    const axes = metricAxes({ name: "perplexity", goal: "min", legacy: false }, fields);
    expect(axes).toEqual([
      { path: "summary.metric.value", label: "perplexity", goal: "min", kind: "number" },
      { path: "summary.metrics.loss", label: "loss", goal: "min", kind: "number" }]);
  });

  it("falls back to accuracy for old summaries, and to the metric block before any", () => {
    expect(metricAxes({ name: "accuracy", goal: "max", legacy: true }, ["summary.accuracy"]))
      .toEqual([{ path: "summary.accuracy", label: "accuracy", goal: "max", kind: "fraction" }]);
    expect(metricAxes(null, [])[0]!.path).toBe("summary.metric.value");
    expect(metricPaths({ name: "accuracy", goal: "max", legacy: true }))
      .toEqual({ value: "summary.accuracy", drop: "summary.accuracy_drop" });
    expect(metricPaths(null)).toEqual({ value: "summary.metric.value",
                                        drop: "summary.metric.drop" });
  });

  it("drops the copies of the primary metric that new summaries carry", () => {
    const all = ["summary.metric.value", "summary.metrics.macro_f1", "summary.metrics.accuracy",
                 "summary.baseline_metrics.macro_f1", "summary.accuracy", "summary.accuracy_drop",
                 "summary.sparsity"];
    expect(distinctFields(all, { name: "macro_f1", goal: "max", legacy: false })).toEqual([
      "summary.metric.value", "summary.metrics.accuracy", "summary.sparsity"]);
    expect(distinctFields(["summary.accuracy", "summary.accuracy_drop"],
                          { name: "accuracy", goal: "max", legacy: true }))
      .toEqual(["summary.accuracy", "summary.accuracy_drop"]);
  });

  it("says which fields are better lower, following the metric's goal", () => {
    const ppl = { name: "perplexity", goal: "min", legacy: false } as const;
    const f1 = { name: "macro_f1", goal: "max", legacy: false } as const;
    expect(lowerIsBetter("summary.metric.value", ppl)).toBe(true);
    expect(lowerIsBetter("summary.metric.value", f1)).toBe(false);
    expect(lowerIsBetter("summary.metric.drop", f1)).toBe(true);
    expect(lowerIsBetter("summary.metrics.perplexity", f1)).toBe(true);
    expect(lowerIsBetter("summary.baseline_metrics.macro_f1", f1)).toBe(false);
    expect(lowerIsBetter("summary.size_bytes.stored", null)).toBe(true);
    expect(lowerIsBetter("summary.sparsity", null)).toBe(false);
  });
});

describe("curves", () => {
  it("defaults to the primary metric's validation curve, then accuracy, then any", () => {
    expect(defaultCurveKey("macro_f1")).toBe("val/macro_f1");
    expect(defaultCurveKey(null)).toBe("val/accuracy");
    expect(defaultCurveKey("macro_f1", ["train/loss", "val/accuracy"])).toBe("val/accuracy");
    expect(defaultCurveKey("macro_f1", ["train/loss", "val/perplexity"])).toBe("val/perplexity");
    expect(defaultCurveKey("macro_f1", ["train/loss"])).toBe("val/macro_f1");
  });

  it("offers each metric's curve, the training curves, and the key in the URL", () => {
    expect(curveKeys(["perplexity", "loss", "perplexity"], "val/bleu")).toEqual([
      "val/perplexity", "val/loss", "train/loss", "sparsity/actual", "sparsity/target", "lr",
      "val/bleu"]);
  });

  it("lays out the run page: loss, primary validation curve first, sparsity, lr", () => {
    const charts = runCharts("perplexity", ["lr", "val/loss", "val/perplexity", "train/loss",
                                            "sparsity/actual"]);
    expect(charts.map((c) => c.title)).toEqual(["train/loss", "val/perplexity", "val/loss",
                                                "sparsity: target vs actual", "lr"]);
    expect(charts[3]).toEqual({ id: "sparsity/target", title: "sparsity: target vs actual",
                                keys: ["sparsity/actual"] });
    expect(runCharts("accuracy", [])).toEqual([]);
  });
});

describe("sensitivity", () => {
  const layers = { fc1: [0.9, 0.5], fc2: [0.95, 0.8] };

  it("reads dense_value with the metric, colouring lower as better for a min goal", () => {
    const view = sensitivityView({ levels: [0.5, 0.9], layers: { fc1: [10, 30] },
                                   dense_value: 9.5, metric: "perplexity", goal: "min" });
    expect(view).toMatchObject({ metric: "perplexity", goal: "min", dense: 9.5, lo: 10, hi: 30,
                                 cells: [[0, 0, 10], [1, 0, 30]] });
    expect(view.colors[0]).toBe("#15803d"); // the lowest value is the best: green
  });

  it("reads old tables as accuracy with dense_accuracy", () => {
    const view = sensitivityView({ levels: [0.5, 0.9], layers, dense_accuracy: 0.97 });
    expect(view).toMatchObject({ metric: "accuracy", goal: "max", dense: 0.97, lo: 0.5,
                                 hi: 0.95 });
    expect(view.colors[0]).toBe("#b91c1c");
  });
});
