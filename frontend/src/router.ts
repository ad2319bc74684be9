// A tiny history router: the URL (path + query) is the page state, so links can be shared.

import { useEffect, useState } from "preact/hooks";
import { withParams } from "./lib/urlstate";

const listeners = new Set<() => void>();

function notify(): void {
  for (const listener of listeners) listener();
}

if (typeof window !== "undefined") window.addEventListener("popstate", notify);

export function navigate(url: string, replace = false): void {
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  notify();
  if (!replace) window.scrollTo(0, 0);
}

export interface Location {
  path: string;
  search: string;
  query: URLSearchParams;
}

function current(): Location {
  return { path: location.pathname, search: location.search,
           query: new URLSearchParams(location.search) };
}

/** The current location; re-renders on navigation. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const listener = () => setLoc(current());
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return loc;
}

type Updates = Parameters<typeof withParams>[1];

/** Change query parameters of the current page; filter edits replace the history entry. */
export function setQuery(updates: Updates, replace = true): void {
  navigate(location.pathname + withParams(location.search, updates), replace);
}

/** ``match("/runs/:id", "/runs/42")`` -> {id: "42"}; null when it does not match. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = decodeURIComponent(got[i]!);
    if (w.startsWith(":")) params[w.slice(1)] = g;
    else if (w !== g) return null;
  }
  return params;
}

/** Intercept plain left clicks on same-origin links so the app navigates without a reload. */
export function installLinkHandler(): void {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey
        || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.("a");
    if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
    const href = anchor.getAttribute("href");
    if (!href || !href.startsWith("/") || href.startsWith("/api/")) return;
    event.preventDefault();
    navigate(href);
  });
}
