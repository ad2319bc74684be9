import { describe, expect, it } from "vitest";
import { checkVersion } from "./versions";

describe("checkVersion", () => {
  it("shows a worker on the API's version without a flag", () => {
    expect(checkVersion("0.2.0", "0.2.0")).toEqual(
      { text: "0.2.0", differs: false, title: "the API's version" });
  });

  it("flags a worker on another version, naming the API's", () => {
    const check = checkVersion("0.1.0", "0.2.0");
    expect(check.differs).toBe(true);
    expect(check.text).toBe("0.1.0");
    expect(check.title).toBe("the API runs 0.2.0");
  });

  it("flags a worker that did not report its version", () => {
    for (const worker of [null, undefined, ""]) {
      const check = checkVersion(worker, "0.2.0");
      expect(check.differs).toBe(true);
      expect(check.text).toBe("unknown");
      expect(check.title).toContain("0.2.0");
    }
  });

  it("flags nothing when the API's version is not known", () => {
    expect(checkVersion("0.1.0", undefined).differs).toBe(false);
    expect(checkVersion(null, null)).toEqual({ text: "unknown", differs: false, title: "" });
  });
});
