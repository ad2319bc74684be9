import { describe, expect, it } from "vitest";
import { backoffMs, parseFrames } from "./sse";

describe("SSE parsing", () => {
  it("parses complete frames, skips comments and keeps the partial rest", () => {
    const text = ": connected\n\nevent: run\ndata: {\"type\":\"run\",\"run_id\":3,\"sweep_id\":1}\n\n"
      + "event: metrics\ndata: {\"type\":\"met";
    const { events, rest } = parseFrames(text);
    expect(events).toEqual([{ type: "run", run_id: 3, sweep_id: 1 }]);
    expect(rest).toBe("event: metrics\ndata: {\"type\":\"met");
    const more = parseFrames(`${rest}rics\",\"sweep_id\":1}\r\n\r\n`);
    expect(more.events).toEqual([{ type: "metrics", sweep_id: 1 }]);
    expect(more.rest).toBe("");
  });

  it("backs off exponentially up to 30 s", () => {
    expect([0, 1, 2, 10].map(backoffMs)).toEqual([1000, 2000, 4000, 30000]);
  });
});
