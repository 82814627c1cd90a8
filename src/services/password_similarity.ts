/**
 * Whether a password resembles the user's email or name, ignoring case and look-alike
 * characters; the personal words zxcvbn is given.
 */
import { unleet } from "./common_passwords.ts";

/** Personal details a password is compared with. */
export interface PersonalInfo {
  email?: string | null;
  name?: string | null;
}

/** A personal detail a password may resemble. */
export type PersonalDetail = "email" | "name";

// Parts shorter than this are too likely to occur by chance ("ann" in "planning").
const MIN_PART_LENGTH = 4;
// Shorter parts must appear exactly: one edit away from "alice" is "police".
const MIN_FUZZY_LENGTH = 8;
// Emails may be 254 characters long; the comparison is quadratic.
const MAX_PART_LENGTH = 64;

/** Lower case, look-alike digits and symbols read as letters, anything else dropped. */
export function skeleton(value: string): string {
  return unleet(value.normalize("NFKC").toLowerCase()).replace(/[^\p{L}\p{N}]/gu, "");
}

/**
 * The fewest edits that turn `part` into some substring of `text` (approximate substring
 * search), or `limit + 1` once that must exceed `limit`.
 */
export function substringDistance(text: string, part: string, limit: number): number {
  // Rows follow `part`; a free start anywhere in `text` makes the first row all zeros.
  let previous: number[] = new Array(text.length + 1).fill(0);
  for (let i = 1; i <= part.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= text.length; j++) {
      const cost = part[i - 1] === text[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (current[j] < rowMin) rowMin = current[j];
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return Math.min(...previous);
}

/** The parts of an email worth guarding: the local part, its pieces and the domain name. */
export function emailParts(email: string): string[] {
  const [local = "", domain = ""] = email.normalize("NFKC").toLowerCase().trim().split("@");
  const labels = domain.split(".");
  // The label before the public suffix: "example" in "mail.example.com".
  const domainName = labels.length >= 2 ? labels[labels.length - 2] : labels[0];
  return [local, ...local.split(/[._+\-]+/), domainName ?? ""].filter((p) => p !== "");
}

/** The full name without separators, and each of its words. */
export function nameParts(name: string): string[] {
  const words = name.normalize("NFKC").toLowerCase().trim().split(/[\s.,'\-]+/);
  return [words.join(""), ...words].filter((p) => p !== "");
}

/** Every personal word, as given to zxcvbn so that it scores them as guessable. */
export function personalWords(info: PersonalInfo): string[] {
  return [
    ...(info.email ? [info.email.toLowerCase(), ...emailParts(info.email)] : []),
    ...(info.name ? nameParts(info.name) : []),
  ];
}

function skeletons(parts: string[]): string[] {
  return [...new Set(parts.map(skeleton).filter((p) => p.length >= MIN_PART_LENGTH))];
}

function resembles(password: string, parts: string[]): boolean {
  if (password.length === 0) return false;
  return parts.some((part) => {
    if (password.includes(part)) return true;
    if (part.length < MIN_FUZZY_LENGTH) return false;
    // A quarter of the part may differ: "Alyce-Smyth" still resembles "alicesmith".
    const limit = Math.floor(part.length / 4);
    return substringDistance(password, part.slice(0, MAX_PART_LENGTH), limit) <= limit;
  });
}

/**
 * Tells whether a password contains, or is a small edit away from, the user's email
 * (local part, its pieces, domain name) or name, ignoring case and look-alike characters.
 */
export function resemblances(password: string, info: PersonalInfo): PersonalDetail[] {
  const pw = skeleton(password);
  const found: PersonalDetail[] = [];
  if (info.email && resembles(pw, skeletons(emailParts(info.email)))) found.push("email");
  if (info.name && resembles(pw, skeletons(nameParts(info.name)))) found.push("name");
  return found;
}
