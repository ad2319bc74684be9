// Number, size, time and percentage formatting shared by every page.

const NDASH = "–";

/** A fraction as a percentage: 0.9712 -> "97.12%". */
export function pct(value: number | null | undefined, digits = 2): string {
  if (value == null || !Number.isFinite(value)) return NDASH;
  return `${(value * 100).toFixed(digits)}%`;
}

/** A signed change in percentage points: 0.004 -> "+0.40 pp". */
export function pp(value: number | null | undefined, digits = 2): string {
  if (value == null || !Number.isFinite(value)) return NDASH;
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${Math.abs(value * 100).toFixed(digits)} pp`;
}

/** A number to ``digits`` significant digits, trailing zeros dropped: 12.3456 -> "12.35". */
export function sig(value: number | null | undefined, digits = 4): string {
  if (value == null || !Number.isFinite(value)) return NDASH;
  return String(Number(value.toPrecision(digits)));
}

/** A signed change to 4 significant digits: 0.5 -> "+0.5", -2 -> "−2". */
export function signed(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return NDASH;
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  return `${sign}${sig(Math.abs(value))}`;
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** Bytes with binary units: 212000 -> "207.0 KiB". */
export function bytes(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return NDASH;
  let v = Math.abs(value);
  let unit = 0;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit += 1;
  }
  const text = unit === 0 ? String(Math.round(v)) : v.toFixed(1);
  return `${value < 0 ? "-" : ""}${text} ${BYTE_UNITS[unit]}`;
}

/** Large counts with SI suffixes: 1234567 -> "1.23M". */
export function si(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return NDASH;
  const abs = Math.abs(value);
  for (const [div, suffix] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]] as const) {
    if (abs >= div) return `${(value / div).toPrecision(3)}${suffix}`;
  }
  return String(Number(value.toPrecision(4)));
}

/** Milliseconds, with a precision that suits the magnitude. */
export function ms(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return NDASH;
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(3)} ms`;
}

/** A speedup ratio: 1.834 -> "1.83×". */
export function ratio(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return NDASH;
  return `${value.toFixed(2)}×`;
}

/** Any value in a table cell: numbers get at most 4 significant digits. */
export function cell(value: unknown): string {
  if (value == null) return NDASH;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    return Number.isInteger(value) ? String(value) : sig(value);
  }
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** "3 min ago" style time relative to ``now`` (both ISO strings or Dates). */
export function ago(when: string | Date | null | undefined, now: Date = new Date()): string {
  if (when == null) return NDASH;
  const then = typeof when === "string" ? new Date(when) : when;
  const s = Math.round((now.getTime() - then.getTime()) / 1000);
  if (!Number.isFinite(s)) return NDASH;
  if (s < 5) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A timestamp as local date and time, to the second. */
export function datetime(when: string | null | undefined): string {
  if (when == null) return NDASH;
  const d = new Date(when);
  return Number.isNaN(d.getTime()) ? when : d.toLocaleString(undefined, { hour12: false });
}

/** Seconds between two timestamps as "1 m 05 s". */
export function duration(start: string | null | undefined, end: string | null | undefined): string {
  if (start == null) return NDASH;
  const t0 = new Date(start).getTime();
  const t1 = end == null ? Date.now() : new Date(end).getTime();
  const s = Math.max(0, Math.round((t1 - t0) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} m`;
}
