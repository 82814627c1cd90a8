/**
 * Judging a signing secret without repeating it: length in bytes, known placeholders and
 * entropy; and a field-encryption key by the bytes it decodes to.
 */
import { byteLength, MIN_PRODUCTION_SECRET_BYTES } from "../../production_rules.ts";
import { FILLER_WORDS, PLACEHOLDER_SECRETS, PLACEHOLDER_WORDS } from "./placeholder_secrets.ts";

export { PLACEHOLDER_SECRETS } from "./placeholder_secrets.ts";

/** The shortest signing secret accepted, in bytes (HS256 wants a key as long as its hash). */
export const MIN_SECRET_BYTES = MIN_PRODUCTION_SECRET_BYTES;

/** Lower case with everything but letters and digits removed. */
function squeeze(value: string): string {
  return value.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
}

function words(value: string): string[] {
  return value.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase().split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

/** True for a value that is, or is assembled from, the words of a placeholder. */
export function isPlaceholderSecret(value: string): boolean {
  const squeezed = squeeze(value);
  if (PLACEHOLDER_SECRETS.has(squeezed)) return true;
  const lower = value.toLowerCase();
  if (PLACEHOLDER_WORDS.some((w) => lower.includes(w))) return true;
  const parts = words(value);
  const total = parts.reduce((n, w) => n + w.length, 0);
  const filler = parts.filter((w) => FILLER_WORDS.has(w) || /^\d{1,4}$/.test(w))
    .reduce((n, w) => n + w.length, 0);
  return total > 0 && filler / total >= 0.6;
}

/** Shannon entropy of the character distribution, in bits for the whole value. */
export function shannonBits(value: string): number {
  const chars = [...value];
  const counts = new Map<string, number>();
  for (const c of chars) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) {
    const p = n / chars.length;
    perChar -= p * Math.log2(p);
  }
  return perChar * chars.length;
}

// Share of neighbouring characters that repeat or count up/down ("aaaa", "abcd", "4321").
function runShare(chars: string[]): number {
  if (chars.length < 2) return 0;
  let runs = 0;
  for (let i = 1; i < chars.length; i++) {
    if (Math.abs(chars[i].codePointAt(0)! - chars[i - 1].codePointAt(0)!) <= 1) runs++;
  }
  return runs / (chars.length - 1);
}

// Share of distinct three-character pieces: low when a short pattern repeats.
function trigramShare(chars: string[]): number {
  if (chars.length < 8) return 1;
  const seen = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) seen.add(chars.slice(i, i + 3).join(""));
  return seen.size / (chars.length - 2);
}

/** Bits a value of this length could hold given the character classes it uses. */
export function charsetBits(value: string): number {
  const chars = [...value];
  let size = 0;
  if (chars.every((c) => /[0-9]/.test(c))) size = 10;
  else if (chars.every((c) => /[0-9a-f]/.test(c)) || chars.every((c) => /[0-9A-F]/.test(c))) {
    size = 16;
  } else {
    if (chars.some((c) => /[a-z]/.test(c))) size += 26;
    if (chars.some((c) => /[A-Z]/.test(c))) size += 26;
    if (chars.some((c) => /[0-9]/.test(c))) size += 10;
    if (chars.some((c) => /[^A-Za-z0-9]/.test(c))) size += 33;
  }
  return Math.floor(chars.length * Math.log2(Math.max(size, 2)));
}

// Hand-typed passphrases ("Correct-horse-battery-staple"): words, not random bytes.
function isWords(value: string): boolean {
  const words = value.split(/[ _.\-]+/).filter(Boolean);
  return words.length >= 3 && words.every((w) => /^[A-Z]?[a-z]+\d*$/.test(w));
}

/**
 * Why a secret looks guessable despite its length, or undefined when it does not: too
 * few distinct characters, too small an alphabet, a lopsided character distribution,
 * repeated or counting runs, a repeated pattern, or words instead of random bytes.
 */
export function lowEntropyReason(value: string): string | undefined {
  const chars = [...value];
  const distinct = new Set(chars).size;
  if (distinct < 8) return `uses only ${distinct} distinct characters`;
  const possible = charsetBits(value);
  if (possible < 128) return `can hold at most ${possible} bits of entropy (128 needed)`;
  if (shannonBits(value) < 80) return "repeats a few characters most of the time";
  if (runShare(chars) > 0.6) return "is mostly repeated or sequential characters";
  if (trigramShare(chars) < 0.6) return "repeats a short pattern";
  if (isWords(value)) return "is made of words rather than random bytes";
  return undefined;
}

/** The findings about one signing secret, as sentences that never include the value. */
export interface SecretAssessment {
  tooShort?: string;
  placeholder?: string;
  lowEntropy?: string;
}

/** Judges a signing secret: length in bytes, known placeholder, entropy. */
export function assessSecret(name: string, value: string): SecretAssessment {
  const result: SecretAssessment = {};
  const bytes = byteLength(value);
  if (bytes < MIN_SECRET_BYTES) {
    result.tooShort = `${name} is ${bytes} bytes long; at least ${MIN_SECRET_BYTES} are needed`;
  }
  if (isPlaceholderSecret(value)) {
    result.placeholder = `${name} is a known placeholder or guessable value`;
  } else if (!result.tooShort) {
    // A short value always lacks entropy; its length is the finding that matters.
    const reason = lowEntropyReason(value);
    if (reason) result.lowEntropy = `${name} ${reason}`;
  }
  return result;
}

/** Fewer distinct values than this in 32 random bytes happens about 3 times in 10^17. */
const MIN_DISTINCT_KEY_BYTES = 16;

/**
 * Why a field-encryption key (the text of ENCRYPTION_KEY and the 32 bytes it decodes to)
 * is guessable, or undefined when it looks random: a placeholder, typed text encoded as
 * base64 (32 random bytes are all printable about once in 10^14), few distinct bytes
 * (all zeros), or bytes that repeat or count.
 */
export function weakFieldKeyReason(text: string, bytes: Uint8Array): string | undefined {
  if (isPlaceholderSecret(text)) return "is a known placeholder or guessable value";
  if (bytes.every((b) => b >= 0x20 && b < 0x7f)) {
    const typed = new TextDecoder().decode(bytes);
    return isPlaceholderSecret(typed)
      ? "is a placeholder encoded as base64"
      : "is typed text encoded as base64, not random bytes";
  }
  const distinct = new Set(bytes).size;
  if (distinct < MIN_DISTINCT_KEY_BYTES) {
    return `has only ${distinct} distinct byte value${
      distinct === 1 ? "" : "s"
    } in ${bytes.length}`;
  }
  if (runShare([...bytes].map((b) => String.fromCodePoint(b))) > 0.5) {
    return "is mostly repeated or counting bytes";
  }
  return undefined;
}
