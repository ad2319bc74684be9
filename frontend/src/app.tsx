import { useState } from "preact/hooks";
import { getToken, setToken } from "./api/client";
import { lazyPage } from "./lazy";
import { SweepsPage } from "./pages/Sweeps";
import { WorkersPage } from "./pages/Workers";
import { type Location, match, useLocation } from "./router";

// The pages with charts (and the YAML parser of the submit page) load on first visit.
const SweepPage = lazyPage(() => import("./pages/Sweep").then((m) => m.SweepPage));
const RunPage = lazyPage(() => import("./pages/Run").then((m) => m.RunPage));
const ComparePage = lazyPage(() => import("./pages/Compare").then((m) => m.ComparePage));
const SubmitPage = lazyPage(() => import("./pages/Submit").then((m) => m.SubmitPage));

function Page({ loc }: { loc: Location }) {
  let m: Record<string, string> | null;
  if (loc.path === "/" || loc.path === "/sweeps") return <SweepsPage loc={loc} />;
  if ((m = match("/sweeps/:id", loc.path))) {
    return <SweepPage key={m.id} id={Number(m.id)} loc={loc} />;
  }
  if ((m = match("/runs/:id", loc.path))) return <RunPage key={m.id} id={Number(m.id)} />;
  if (loc.path === "/compare") return <ComparePage loc={loc} />;
  if (loc.path === "/workers") return <WorkersPage />;
  if (loc.path === "/submit") return <SubmitPage />;
  return (
    <section><h1>Not found</h1><p>No page at <code>{loc.path}</code>. <a href="/">Sweeps</a></p>
    </section>
  );
}

function TokenSettings() {
  const [value, setValue] = useState(getToken() ?? "");
  const [saved, setSaved] = useState(false);
  return (
    <details class="token">
      <summary>API token{getToken() ? " ✓" : ""}</summary>
      <form onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim() || null);
        setSaved(true);
        location.reload();
      }}>
        <label>Bearer token (leave empty when the server runs with auth off)
          <input type="password" value={value} autocomplete="off"
                 onInput={(e) => { setValue(e.currentTarget.value); setSaved(false); }} />
        </label>
        <button type="submit">{saved ? "Saved" : "Save"}</button>
      </form>
    </details>
  );
}

const NAV = [["/", "Sweeps"], ["/submit", "Submit"], ["/workers", "Workers"]] as const;

export function App() {
  const loc = useLocation();
  return (
    <>
      <header class="topbar">
        <a class="brand" href="/">squeezelab</a>
        <nav aria-label="main">
          {NAV.map(([href, text]) => {
            const current = href === "/" ? loc.path === "/" || loc.path.startsWith("/sweeps")
              : loc.path.startsWith(href);
            return <a key={href} href={href} aria-current={current ? "page" : undefined}>{text}</a>;
          })}
        </nav>
        <span class="spacer" />
        <TokenSettings />
      </header>
      <main><Page loc={loc} /></main>
    </>
  );
}
