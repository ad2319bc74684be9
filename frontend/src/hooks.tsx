// Hooks shared by pages: live updates over SSE, and fetching with loading/error state.

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { authHeaders } from "./api/client";
import { type LiveEvent, subscribe } from "./lib/sse";

export type LiveState = "connecting" | "open" | "retrying";

/**
 * Live events for one sweep (or all, with null), delivered in batches at most once per
 * ``throttleMs``. After a reconnect ``onEvents`` gets ``null``: refetch everything, since
 * events sent while disconnected are lost.
 */
export function useLive(sweep: number | null, onEvents: (events: LiveEvent[] | null) => void,
                        enabled = true, throttleMs = 1000): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  const handler = useRef(onEvents);
  handler.current = onEvents;

  useEffect(() => {
    if (!enabled) return;
    let pending: LiveEvent[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const batch = pending;
      pending = [];
      if (batch.length) handler.current(batch);
    };
    const url = sweep == null ? "/api/v1/events" : `/api/v1/events?sweep=${sweep}`;
    const close = subscribe(url, authHeaders, {
      onEvent: (event) => {
        if (event.type === "resync") { // the server dropped events for us: refetch all
          pending = [];
          clearTimeout(timer);
          timer = undefined;
          handler.current(null);
          return;
        }
        pending.push(event);
        timer ??= setTimeout(flush, throttleMs);
      },
      onOpen: (reconnected) => {
        if (reconnected) handler.current(null);
      },
      onState: setState,
    });
    return () => {
      close();
      clearTimeout(timer);
    };
  }, [sweep, enabled, throttleMs]);
  return state;
}

export interface Fetched<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Run ``load`` when ``deps`` change (aborting the previous call); ``reload`` reruns it. */
export function useFetch<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]):
    Fetched<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    load(controller.signal)
      .then((value) => {
        setData(value);
        setError(null);
      })
      .catch((exc: unknown) => {
        if (!controller.signal.aborted) setError(exc);
      })
      .finally(() => {
        if (!controller.signal.aborted) setLoading(false);
      });
    return () => controller.abort();
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

export function LiveDot({ state }: { state: LiveState }) {
  const text = { connecting: "connecting…", open: "live", retrying: "reconnecting…" }[state];
  return <span class={`live live-${state}`} role="status" title="live updates">{text}</span>;
}

/** ``value`` as first seen with ``key``: a new object only when the key changes, so memos and
 * effects that depend on it rerun only then. */
export function useKeyed<T>(value: T, key: string): T {
  const held = useRef({ key, value });
  if (held.current.key !== key) held.current = { key, value };
  return held.current.value;
}

export interface Action {
  busy: boolean;
  /** the last failure, until the next attempt */
  error: unknown;
  run: (act: () => Promise<unknown>) => void;
}

/** A user action (cancel, retry, download) whose failure is kept to be shown, not dropped. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback((act: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    act().catch((exc: unknown) => setError(exc)).finally(() => setBusy(false));
  }, []);
  return { busy, error, run };
}
