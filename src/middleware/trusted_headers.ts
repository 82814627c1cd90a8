/**
 * Sets precomputed, already validated headers on a response at near-zero cost.
 *
 * Why this exists: Deno's `Headers#set` re-validates every name and value character
 * by character on each call (webidl ByteString conversion, trimming, token and value
 * checks). For the dozen security headers of every response that is about 12 µs per
 * request, which halves the throughput of a bare Hono route. The values here are
 * constants validated once at construction, so on Deno we append them straight to the
 * response's header list; everywhere else (Workers, Node, a future Deno whose internals
 * differ) the standard `Headers` API is used and only speed differs.
 * @module
 */

/** A header name (lower case) and value. */
export type HeaderPair = readonly [name: string, value: string];

interface Internals {
  list: symbol;
  guard?: symbol;
  caches: symbol[];
}

function ownSymbol(target: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(target).find((s) => s.description === description);
}

// Detects the runtime's internal header list once, by probing a response it built,
// and keeps the fast path only if appending to that list is visible through the API.
function detectInternals(): Internals | undefined {
  try {
    const headers = new Response(null, { headers: [["x-probe", "1"]] }).headers;
    const list = ownSymbol(headers, "header list");
    if (!list) return undefined;
    // Iterating fills the lazily built caches, so their symbols can be found.
    for (const _ of headers) { /* populate caches */ }
    headers.get("x-probe");
    const caches = Object.getOwnPropertySymbols(headers).filter((s) =>
      s.description === "lowercase header names" ||
      (s.description ?? "").startsWith("iterable headers cache")
    );
    const raw = (headers as unknown as Record<symbol, unknown>)[list];
    if (!Array.isArray(raw) || raw.length !== 1 || raw[0][0] !== "x-probe") return undefined;
    const internals = { list, guard: ownSymbol(headers, "guard"), caches };
    appendUnchecked(headers, internals, [["x-probe-added", "2"]], new Set(["x-probe"]));
    const names = [...headers.keys()];
    const ok = names.length === 1 && names[0] === "x-probe-added" &&
      headers.get("x-probe-added") === "2" && headers.get("x-probe") === null;
    return ok ? internals : undefined;
  } catch {
    return undefined;
  }
}

function appendUnchecked(
  headers: Headers,
  internals: Internals,
  pairs: readonly HeaderPair[],
  replaced: ReadonlySet<string>,
): boolean {
  const record = headers as unknown as Record<symbol, unknown>;
  const list = record[internals.list] as Array<[string, string]> | null | undefined;
  if (!Array.isArray(list)) return false;
  let kept = 0;
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (!replaced.has(entry[0].toLowerCase())) list[kept++] = entry;
  }
  list.length = kept;
  // Fresh entry arrays: Headers#set later mutates entries in place.
  for (let i = 0; i < pairs.length; i++) list.push([pairs[i][0], pairs[i][1]]);
  for (let i = 0; i < internals.caches.length; i++) {
    record[internals.caches[i]] = internals.caches[i].description === "lowercase header names"
      ? null
      : undefined;
  }
  return true;
}

const internals = detectInternals();

/** Whether the fast path is active in this runtime (tests assert it on Deno). */
export function trustedHeadersFastPath(): boolean {
  return internals !== undefined;
}

/**
 * Validates header pairs once, at construction time, by building real `Headers`
 * from them; throws on an invalid name or value.
 */
export function validatedPairs(pairs: readonly HeaderPair[]): HeaderPair[] {
  const headers = new Headers();
  for (const [name, value] of pairs) headers.append(name, value);
  return pairs.map(([name, value]) => [name.toLowerCase(), value] as const);
}

/**
 * Removes every header named in `replaced`, then appends `pairs`. The pairs must come
 * from {@linkcode validatedPairs}. Returns false when the headers are immutable and the
 * caller must rebuild the response.
 */
export function setTrustedHeaders(
  headers: Headers,
  pairs: readonly HeaderPair[],
  replaced: ReadonlySet<string>,
): boolean {
  if (internals) {
    const guard = internals.guard &&
      (headers as unknown as Record<symbol, unknown>)[internals.guard];
    if (guard === "immutable") return false;
    if (appendUnchecked(headers, internals, pairs, replaced)) return true;
  }
  try {
    for (const name of replaced) headers.delete(name);
    for (let i = 0; i < pairs.length; i++) headers.append(pairs[i][0], pairs[i][1]);
    return true;
  } catch {
    return false;
  }
}
