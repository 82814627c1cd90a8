/**
 * Canonical JSON, the byte form the audit hash chain hashes.
 * @module
 */

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace, `undefined`
 * members left out. The audit hash chain hashes this form, so the same event always
 * gives the same bytes whatever order its fields were built in.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, 0);
}

function encode(value: unknown, depth: number): string {
  if (depth > 32) throw new TypeError("Value is nested too deeply for canonical JSON");
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) {
        throw new TypeError("Canonical JSON has no form for NaN or Infinity");
      }
      return JSON.stringify(value);
    case "object":
      break;
    default:
      throw new TypeError(`Canonical JSON has no form for a ${typeof value}`);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => v === undefined ? "null" : encode(v, depth + 1)).join(",")}]`;
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const record = value as Record<string, unknown>;
  const members = Object.keys(record).filter((k) => record[k] !== undefined).sort()
    .map((k) => `${JSON.stringify(k)}:${encode(record[k], depth + 1)}`);
  return `{${members.join(",")}}`;
}
