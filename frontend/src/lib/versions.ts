// A worker's squeezelab version against the API's: a worker on other code may produce
// figures that differ from its peers', so the workers page flags it.

export interface VersionCheck {
  /** What the version cell shows. */
  text: string;
  /** The worker runs a version other than the API's (or did not say which). */
  differs: boolean;
  /** The hover text: what it differs from. */
  title: string;
}

export function checkVersion(worker: string | null | undefined,
                             api: string | null | undefined): VersionCheck {
  if (!api) return { text: worker || "unknown", differs: false, title: "" };
  if (!worker) {
    return { text: "unknown", differs: true,
             title: `the worker did not report its version (older than the API's ${api}?)` };
  }
  return worker === api
    ? { text: worker, differs: false, title: "the API's version" }
    : { text: worker, differs: true, title: `the API runs ${api}` };
}
