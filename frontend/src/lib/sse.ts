// Server-Sent Events over fetch (EventSource cannot send the Authorization header), with
// reconnection: exponential backoff from 1 s to 30 s, and an ``onOpen`` after every
// (re)connect so the page can refetch whatever it missed while disconnected.

export interface LiveEvent {
  /** run, metrics, sweep, worker, or resync (events were lost: refetch) */
  type: string;
  /** null for a worker's events, which reach only the stream of all sweeps */
  sweep_id: number | null;
  run_id?: number;
  status?: string;
  keys?: string[];
  max_step?: number;
  worker_id?: string;
  current_run_id?: number | null;
}

export interface SseHandlers {
  onEvent: (event: LiveEvent) => void;
  onOpen?: (reconnected: boolean) => void;
  onState?: (state: "connecting" | "open" | "retrying") => void;
}

/** Parse complete SSE frames out of ``buffer``; returns the events and the unparsed rest. */
export function parseFrames(buffer: string): { events: LiveEvent[]; rest: string } {
  const events: LiveEvent[] = [];
  const normalized = buffer.replace(/\r\n/g, "\n");
  const frames = normalized.split("\n\n");
  const rest = frames.pop() ?? "";
  for (const frame of frames) {
    const data = frame.split("\n").filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart()).join("\n");
    if (!data) continue; // comments (": keepalive") and empty frames
    try {
      events.push(JSON.parse(data) as LiveEvent);
    } catch {
      /* a malformed frame is skipped, not fatal */
    }
  }
  return { events, rest };
}

export function backoffMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
}

/** Subscribe to ``url``; returns a function that closes the stream for good. */
export function subscribe(url: string, headers: () => Record<string, string>,
                          handlers: SseHandlers): () => void {
  const controller = new AbortController();
  let attempt = 0;
  let opened = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function connect(): Promise<void> {
    handlers.onState?.("connecting");
    try {
      const response = await fetch(url, { headers: { Accept: "text/event-stream", ...headers() },
                                          signal: controller.signal, cache: "no-store" });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      handlers.onState?.("open");
      handlers.onOpen?.(opened);
      opened = true;
      attempt = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const parsed = parseFrames(buffer + value);
        buffer = parsed.rest;
        for (const event of parsed.events) handlers.onEvent(event);
      }
    } catch {
      if (controller.signal.aborted) return;
    }
    if (controller.signal.aborted) return;
    handlers.onState?.("retrying");
    timer = setTimeout(() => void connect(), backoffMs(attempt++));
  }

  void connect();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
