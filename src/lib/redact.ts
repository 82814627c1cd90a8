/**
 * Secret redaction: what every log sink, error and audit detail passes through so no
 * secret-looking name or value is written.
 * @module
 */

/** What replaces a secret in logs, errors and audit details. */
export const REDACTED = "[REDACTED]";

// `pass` names a password or passphrase, not a passkey: a passkey's id and its public assertions
// are no secret, and the audit must say which passkey a cloning alarm is about.
const SECRET_KEY =
  /pass(?!key)(word)?|secret|token|api[-_]?key|(private|signing|encryption|master)[-_]?key|^key$|_key$|^jwt$|authorization|cookie|pepper|credential|otp|^code$|recovery[-_]?codes?/i;

const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key)$/i;

type Rule = { pattern: RegExp; replace: (match: string, ...groups: string[]) => string };

const SECRET_VALUES: Rule[] = [
  // Header lines pasted into messages: everything after the colon.
  {
    pattern: /\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)(\s*:\s*)[^\r\n]+/gi,
    replace: (_m, name, sep) => `${name}${sep}${REDACTED}`,
  },
  // JWTs
  { pattern: /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, replace: () => REDACTED },
  // citadel API keys
  { pattern: /\bctd_[A-Za-z0-9_-]{16,}/g, replace: () => REDACTED },
  // credentials in headers or messages
  {
    pattern: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi,
    replace: (match) => `${match.split(/\s/)[0]} ${REDACTED}`,
  },
  // passwords in connection strings, up to the last @ of the authority
  {
    pattern: /(\b[a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^\s/?#]*(@)/gi,
    replace: (_m, head, at) => `${head}${REDACTED}${at}`,
  },
  // secrets in query strings and key=value text
  {
    pattern:
      /\b([a-z_]*(?:pass(?:word|wd)?|pwd|secret|token|api[-_]?key)|[a-z_]*code)=([^&\s"']+)/gi,
    replace: (_m, name) => `${name}=${REDACTED}`,
  },
];

// Every rule above needs one of these substrings to match, so text without any of
// them (nearly every log field) is returned after one test instead of six replaces.
const MAYBE_SECRET = /authorization|cookie|x-api-key|eyJ|ctd_|bearer|basic|:\/\/|=/i;

/** Redacts secret-looking substrings of free text. */
export function redactText(text: string): string {
  if (!MAYBE_SECRET.test(text)) return text;
  let out = text;
  for (const rule of SECRET_VALUES) {
    out = out.replace(rule.pattern, rule.replace as (match: string, ...rest: unknown[]) => string);
  }
  return out;
}

// Field names come from code, so there are few: remember the verdict per name.
const keyVerdicts = new Map<string, boolean>();

function isSecretKey(key: string): boolean {
  let secret = keyVerdicts.get(key);
  if (secret === undefined) {
    secret = SECRET_KEY.test(key);
    if (keyVerdicts.size < 1024) keyVerdicts.set(key, secret);
  }
  return secret;
}

function redactEntry(key: string, value: unknown, depth: number): unknown {
  return isSecretKey(key) && value !== null && value !== undefined &&
      typeof value !== "boolean"
    ? REDACTED
    : redact(value, depth + 1);
}

/**
 * True when {@linkcode redact} would change nothing in `fields`: a plain object whose
 * values are numbers, booleans, null, undefined or strings without any secret marker,
 * and whose secret-like names (if any) hold only null, undefined or booleans. A logger
 * can serialise such an entry (every access-log line) as it is, without the copy.
 */
export function isFreeOfSecrets(fields: object): boolean {
  if (Object.getPrototypeOf(fields) !== Object.prototype) return false;
  const record = fields as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const value = record[key];
    if (value === null || value === undefined || typeof value === "boolean") continue;
    if (isSecretKey(key)) return false;
    if (typeof value === "number") continue;
    if (typeof value !== "string" || MAYBE_SECRET.test(value)) return false;
  }
  return true;
}

/**
 * Returns a copy of any value with secrets removed: fields and headers named like
 * secrets (Authorization, Cookie, Set-Cookie, X-API-Key, password, secret, token,
 * key ...) are replaced whole, and strings are scrubbed of JWTs, `ctd_` API keys,
 * bearer credentials, URL passwords and `token=` style pairs. Every log sink and the
 * audit log go through this one function.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (typeof value === "string") return redactText(value);
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (typeof Headers !== "undefined" && value instanceof Headers) {
    return redact(Object.fromEntries(value), depth);
  }
  if (Array.isArray(value)) {
    // A [name, value] header pair, as from [...headers].
    if (value.length === 2 && typeof value[0] === "string" && SECRET_HEADER.test(value[0])) {
      return [value[0], redactEntry(value[0], value[1], depth)];
    }
    return value.map((v) => redact(v, depth + 1));
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = redactEntry(key, v, depth);
    return out;
  }
  return value;
}
