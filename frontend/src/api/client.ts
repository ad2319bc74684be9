// A small typed fetch wrapper over the generated OpenAPI types (schema.d.ts).
//
// The token comes from localStorage; in embedded mode (SQUEEZELAB_AUTH=off) there is none
// and requests go without an Authorization header.

import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
const TOKEN_KEY = "squeezelab.token";

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export interface FieldProblem {
  pointer: string;
  detail: string;
}

/** An error reply (problem+json), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly title: string, readonly detail: string,
              readonly errors: FieldProblem[] = []) {
    super(`${status} ${title}: ${detail}`);
  }
}

type Method = "get" | "post" | "delete";
type Op<P extends keyof paths, M extends Method> = paths[P][M];
type PathsWith<M extends Method> = {
  [P in keyof paths]: paths[P][M] extends undefined | never ? never : P;
}[keyof paths];
type Params<O> = O extends { parameters: infer X } ? X : never;
type PathParams<O> = Params<O> extends { path?: infer X } ? X : never;
type QueryParams<O> = Params<O> extends { query?: infer X } ? X : never;
type Json<R> = R extends { content: { "application/json": infer T } } ? T : unknown;
type Ok<O> = O extends { responses: infer R }
  ? 200 extends keyof R ? Json<R[200]> : 201 extends keyof R ? Json<R[201]> : unknown
  : unknown;

export interface RequestOptions<O> {
  path?: PathParams<O>;
  query?: QueryParams<O>;
  body?: BodyInit;
  contentType?: string;
  signal?: AbortSignal;
}

/** "/api/v1/runs/{run_id}" + {run_id: 3} + {key: "a"} -> "/api/v1/runs/3?key=a". */
export function buildUrl(template: string, path?: object, query?: object): string {
  let url = template.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(String((path as Record<string, unknown> | undefined)?.[name] ?? "")));
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value == null) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const qs = params.toString();
  if (qs) url += `?${qs}`;
  return url;
}

async function problem(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as Partial<Schemas["Problem"]>;
    return new ApiError(response.status, body.title ?? response.statusText,
                        body.detail ?? "", body.errors ?? []);
  } catch {
    return new ApiError(response.status, response.statusText, "");
  }
}

async function request<O>(method: string, template: string, opts: RequestOptions<O>):
    Promise<Ok<O>> {
  const headers: Record<string, string> = { Accept: "application/json", ...authHeaders() };
  if (opts.body !== undefined) headers["Content-Type"] = opts.contentType ?? "application/json";
  let response: Response;
  try {
    response = await fetch(buildUrl(template, opts.path as object, opts.query as object), {
      method, headers, body: opts.body, signal: opts.signal });
  } catch (exc) {
    if ((exc as Error).name === "AbortError") throw exc;
    throw new ApiError(0, "Network error", "the API cannot be reached");
  }
  if (!response.ok) throw await problem(response);
  if (response.status === 204) return undefined as Ok<O>;
  return (await response.json()) as Ok<O>;
}

export function get<P extends PathsWith<"get">>(path: P, opts: RequestOptions<Op<P, "get">> = {}):
    Promise<Ok<Op<P, "get">>> {
  return request("GET", path, opts);
}

export function post<P extends PathsWith<"post">>(path: P,
                                                  opts: RequestOptions<Op<P, "post">> = {}):
    Promise<Ok<Op<P, "post">>> {
  return request("POST", path, opts);
}

export type Sweep = Schemas["SweepPublic"];
export type Gates = Schemas["GatesReport"];
export type Run = Schemas["RunPublic"];
export type Worker = Schemas["WorkerPublic"];
export type Artifact = Schemas["ArtifactPublic"];
export type Series = Schemas["SeriesPublic"];
export type SweepPlan = Schemas["SweepPlan"];

/** Every run of a sweep, page by page; ``onPage`` sees each page as it lands. The first
 * page is small so that the table shows something early; the rest come 1,000 at a time. */
export async function allRuns(sweepId: number, onPage: (runs: Run[]) => void,
                              signal?: AbortSignal, afterFirst?: Promise<unknown>,
                              firstPage = 200, pageSize = 1000): Promise<void> {
  let cursor: string | undefined;
  let limit = firstPage;
  do {
    const page = await get("/api/v1/runs", {
      query: { sweep_id: sweepId, limit, cursor }, signal });
    onPage(page.items);
    cursor = page.next_cursor ?? undefined;
    if (cursor && limit === firstPage && afterFirst) await afterFirst;
    limit = pageSize;
  } while (cursor);
}
