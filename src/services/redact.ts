/** What replaces a secret in logs, errors and audit details. */
export const REDACTED = "[REDACTED]";

const SECRET_KEY =
  /pass(word)?|secret|token|api[-_]?key|^key$|_key$|authorization|cookie|pepper|credential|otp|^code$/i;
const SECRET_VALUES: RegExp[] = [
  /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, // JWTs
  /\bctd_[A-Za-z0-9]{20,}\b/g, // citadel API keys
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, // credentials in headers or messages
  /(\w+:\/\/[^:/\s@]*:)[^@\s]+(@)/g, // passwords in connection strings
];

/** Redacts secret-looking substrings of free text. */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_VALUES) {
    out = out.replace(pattern, (match, ...groups) => {
      if (pattern.source.startsWith("(\\w+:")) return `${groups[0]}${REDACTED}${groups[1]}`;
      if (/^(bearer|basic)\s/i.test(match)) return `${match.split(/\s/)[0]} ${REDACTED}`;
      return REDACTED;
    });
  }
  return out;
}

/**
 * Returns a copy of any value with secrets removed: fields named like secrets are
 * replaced whole, and strings are scrubbed of tokens, keys and URL passwords. Every log
 * sink and the audit log go through this one function.
 */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (typeof value === "string") return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) && v !== null && v !== undefined && typeof v !== "boolean"
        ? REDACTED
        : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}
