/**
 * Two changes to the Postman collection Portman writes, before newman runs it. Cookies are
 * off: newman keeps a cookie jar like a browser, so after the login's device cookie every
 * public POST would carry a cookie without an Origin header and get 403 csrf_rejected (which
 * is right, and documented, but would leave those routes untested). And fuzzing variations
 * that change nothing are dropped: Portman still writes a variation for a field the request
 * does not carry (an optional field, the alternative of an `anyOf` body), which is then the
 * contract request again and not a fuzzed one.
 * @module
 */
import { FUZZ_VARIATION } from "./portman_config.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** The folder Portman puts its variations in. */
const VARIATIONS_FOLDER = "Variation Tests";

/** Every request item under `items`, folders flattened. */
function leaves(items: Json[]): Json[] {
  return items.flatMap((item) => Array.isArray(item.item) ? leaves(item.item) : [item]);
}

/** JSON text with sorted keys, so equal values compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Json).sort(([a], [b]) => a < b ? -1 : 1);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** What a request sends, credentials aside: method, path values, enabled query, body. */
function sent(request: Json): string {
  const url = request.url ?? {};
  const raw: string | undefined = request.body?.raw;
  let body: unknown = raw;
  try {
    body = raw === undefined ? undefined : JSON.parse(raw);
  } catch { /* not JSON: compared as text */ }
  return canonical({
    method: request.method,
    path: (url.variable ?? []).map((v: Json) => [v.key, v.value]),
    query: (url.query ?? []).filter((q: Json) => !q.disabled).map((q: Json) => [q.key, q.value]),
    body,
  });
}

/**
 * Turns cookies off for the whole collection and removes the fuzzing variations that send
 * exactly what their operation's contract request sends; returns the removed ones' names.
 */
export function prepareCollection(collection: Json): string[] {
  collection.protocolProfileBehavior = { disableCookies: true };
  const folder = collection.item.find((item: Json) => item.name === VARIATIONS_FOLDER);
  const main = new Map<string, string>(
    leaves(collection.item.filter((item: Json) => item !== folder)).map((item) => [
      item.name,
      sent(item.request),
    ]),
  );
  const dropped: string[] = [];
  const prune = (items: Json[]): Json[] =>
    items.filter((item) => {
      if (Array.isArray(item.item)) {
        item.item = prune(item.item);
        return true;
      }
      const at = item.name.indexOf(`[${FUZZ_VARIATION}]`);
      const same = at > 0 && main.get(item.name.slice(0, at)) === sent(item.request);
      if (same) dropped.push(item.name);
      return !same;
    });
  if (folder) folder.item = prune(folder.item);
  return dropped;
}
