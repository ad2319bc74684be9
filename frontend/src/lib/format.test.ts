import { describe, expect, it } from "vitest";
import { ago, bytes, cell, ms, pct, pp, ratio, si, sig, signed } from "./format";

describe("format", () => {
  it("formats fractions and percentage points", () => {
    expect(pct(0.97214)).toBe("97.21%");
    expect(pct(0.9, 1)).toBe("90.0%");
    expect(pct(null)).toBe("–");
    expect(pct(Number.NaN)).toBe("–");
    expect(pp(0.0306)).toBe("+3.06 pp");
    expect(pp(-0.004)).toBe("−0.40 pp");
    expect(pp(0)).toBe("0.00 pp");
  });

  it("formats plain numbers to 4 significant digits, signed for changes", () => {
    expect(sig(12.3456)).toBe("12.35");
    expect(sig(0.000123456)).toBe("0.0001235");
    expect(sig(1234567)).toBe("1235000");
    expect(sig(undefined)).toBe("–");
    expect(signed(0.5)).toBe("+0.5");
    expect(signed(-2)).toBe("−2");
    expect(signed(0)).toBe("0");
  });

  it("formats sizes with binary units and counts with SI suffixes", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(28867)).toBe("28.2 KiB");
    expect(bytes(3 * 1024 ** 3)).toBe("3.0 GiB");
    expect(si(50200)).toBe("50.2k");
    expect(si(1234567)).toBe("1.23M");
    expect(si(12)).toBe("12");
  });

  it("formats latency, ratios and generic cells", () => {
    expect(ms(0.36451)).toBe("0.365 ms");
    expect(ms(12.34)).toBe("12.3 ms");
    expect(ms(2500)).toBe("2.50 s");
    expect(ratio(1.8254)).toBe("1.83×");
    expect(cell(0.123456)).toBe("0.1235");
    expect(cell(50610)).toBe("50610");
    expect(cell(undefined)).toBe("–");
    expect(cell({ a: 1 })).toBe('{"a":1}');
  });

  it("says how long ago", () => {
    const now = new Date("2026-01-01T12:00:00Z");
    expect(ago("2026-01-01T11:59:58Z", now)).toBe("just now");
    expect(ago("2026-01-01T11:59:00Z", now)).toBe("1 min ago");
    expect(ago("2026-01-01T09:00:00Z", now)).toBe("3 h ago");
    expect(ago("2025-12-30T12:00:00Z", now)).toBe("2 d ago");
  });
});
