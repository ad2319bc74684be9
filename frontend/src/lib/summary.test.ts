import { describe, expect, it } from "vitest";
import { summaryWarnings } from "./summary";

describe("summaryWarnings", () => {
  it("lists the summary's warnings, then its quantization block's", () => {
    expect(summaryWarnings({
      warnings: ["layer 'fc1' ended 99.5% sparse"],
      quantization: { warnings: ["ptq_dynamic quantized no convolution"] },
    })).toEqual(["layer 'fc1' ended 99.5% sparse", "ptq_dynamic quantized no convolution"]);
  });

  it("ignores what is not a list of strings", () => {
    expect(summaryWarnings({ warnings: "oops", quantization: { warnings: [1, "x"] } }))
      .toEqual(["x"]);
    expect(summaryWarnings(null)).toEqual([]);
  });
});
