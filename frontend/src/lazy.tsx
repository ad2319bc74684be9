// Pages loaded on first visit: ECharts (most of the bundle) is fetched only by the pages
// that draw charts, so the sweeps list, submit and workers pages start without it.

import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { Loading } from "./components/bits";

export function lazyPage<P extends object>(
  load: () => Promise<ComponentType<P>>,
): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;

  return function LazyPage(props: P) {
    const [, setReady] = useState(false);
    const [error, setError] = useState<unknown>(null);
    useEffect(() => {
      if (loaded) return;
      pending ??= load();
      pending.then((page) => { loaded = page; setReady(true); },
                   (exc: unknown) => { pending = null; setError(exc); });
    }, []);
    if (loaded) {
      const Page = loaded;
      return <Page {...props} />;
    }
    if (error) {
      return (
        <p class="error" role="alert">This page could not be loaded ({String(error)}); a new
          version may have been deployed. <a href={location.href}>Reload</a></p>
      );
    }
    return <Loading what="the page" />;
  };
}
