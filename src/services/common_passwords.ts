/**
 * The common-password rule: zxcvbn's bundled list of breached passwords, loaded on first use,
 * matched through case, decoration and look-alike characters.
 * @module
 */

/** A set of known common passwords, lower case. */
export type CommonPasswords = ReadonlySet<string>;

let loading: Promise<CommonPasswords> | undefined;

/**
 * The list behind the "common password" rule: zxcvbn's `passwords-common` dictionary
 * (@zxcvbn-ts/language-common, MIT), about 49,000 passwords ranked by how often they
 * appear in public breach corpora. It is bundled with the code (no network at run time)
 * and loaded on first use, so commands that never check a password do not pay for it.
 */
export function loadCommonPasswords(): Promise<CommonPasswords> {
  loading ??= import("@zxcvbn-ts/language-common").then(({ dictionary }) =>
    new Set((dictionary as Record<string, readonly string[]>)["passwords-common"] ?? [])
  );
  return loading;
}

const UNLEET: Record<string, string> = {
  "@": "a",
  "4": "a",
  "8": "b",
  "3": "e",
  "6": "g",
  "1": "i",
  "!": "i",
  "0": "o",
  "$": "s",
  "5": "s",
  "7": "t",
  "+": "t",
  "2": "z",
};

/** Reads digits and symbols that stand in for letters as those letters ("p@ssw0rd"). */
export function unleet(value: string): string {
  return value.replace(/[@48361!0$57+2]/g, (c) => UNLEET[c]);
}

/**
 * True when a password is on the common list, or is one with digits and symbols wrapped
 * around it or letters swapped for look-alikes ("Password2024!", "P@ssw0rd!", "$ecret99"):
 * attackers try exactly those variations first.
 */
export function isCommonPassword(password: string, set: CommonPasswords): boolean {
  const lower = password.toLowerCase();
  if (set.has(lower)) return true;
  const trimmedEnd = lower.replace(/[^\p{L}]+$/u, "");
  const core = trimmedEnd.replace(/^[^\p{L}]+/u, "");
  // "1" reads as "i" or "l"; both readings are tried.
  const candidates = [
    trimmedEnd,
    core,
    unleet(trimmedEnd),
    unleet(trimmedEnd.replaceAll("1", "l")),
  ];
  return candidates.some((c) => c.length >= 4 && set.has(c));
}
