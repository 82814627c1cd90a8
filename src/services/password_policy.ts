/**
 * The password policy: length, character classes, resemblance to the user, common passwords
 * and a zxcvbn strength score, each failure a field error.
 */
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";
import type { FieldError } from "../errors.ts";
import { type CommonPasswords, isCommonPassword, loadCommonPasswords } from "./common_passwords.ts";
import { personalWords, resemblances } from "./password_similarity.ts";

/** The longest password accepted, in characters after normalisation. */
export const PASSWORD_MAX_LENGTH = 1024;
/** The default minimum length (PASSWORD_MIN_LENGTH). */
export const PASSWORD_MIN_LENGTH = 12;
/** zxcvbn scores run from 0 to 4; 3 means "safely unguessable" against online attacks. */
export const MIN_STRENGTH_SCORE = 3;
// zxcvbn's cost grows faster than linearly with length (hundreds of ms at 128 characters
// of repeated patterns); a password whose first 64 characters are strong is strong.
// Its Levenshtein option stays off: it multiplies the cost of every check by ten.
const STRENGTH_SAMPLE_LENGTH = 64;

/** A policy violation: one field error with a stable code and a sentence for people. */
export interface PasswordError extends FieldError {
  code: string;
}

/** Who the password is for, and the policy's adjustable setting. */
export interface PasswordCheckOptions {
  email?: string | null;
  name?: string | null;
  /** Minimum length in characters (config.passwordMinLength); default 12. */
  minLength?: number;
  /** Field name reported in errors, e.g. "new_password"; default "password". */
  field?: string;
}

/**
 * The form of a password that is hashed and compared: Unicode NFKC, so the same
 * characters typed on different keyboards or systems match. Never truncated.
 */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

interface Scorer {
  zxcvbn: ZxcvbnFactory;
  common: CommonPasswords;
}

let scorer: Promise<Scorer> | undefined;

// Built once per process on first use: ranking the dictionaries takes ~150 ms, and
// commands that never check a password should not load them at all.
function loadScorer(): Promise<Scorer> {
  scorer ??= (async () => {
    const [{ ZxcvbnFactory }, common, en, passwords] = await Promise.all([
      import("@zxcvbn-ts/core"),
      import("@zxcvbn-ts/language-common"),
      import("@zxcvbn-ts/language-en"),
      loadCommonPasswords(),
    ]);
    const zxcvbn = new ZxcvbnFactory({
      dictionary: { ...common.dictionary, ...en.dictionary },
      graphs: common.adjacencyGraphs,
      translations: en.translations,
      maxLength: STRENGTH_SAMPLE_LENGTH,
    });
    return { zxcvbn, common: passwords };
  })();
  scorer.catch(() => scorer = undefined);
  return scorer;
}

/** Loads the dictionaries now, e.g. at server start, so the first registration is not slow. */
export async function warmUpPasswordPolicy(): Promise<void> {
  await loadScorer();
}

const CLASS_RULES: { code: string; test: RegExp; message: string }[] = [
  {
    code: "password_missing_uppercase",
    test: /[\p{Lu}\p{Lt}]/u,
    message: "Password must contain at least one upper-case letter",
  },
  {
    code: "password_missing_lowercase",
    test: /\p{Ll}/u,
    message: "Password must contain at least one lower-case letter",
  },
  {
    code: "password_missing_digit",
    test: /\p{Nd}/u,
    message: "Password must contain at least one digit",
  },
  {
    code: "password_missing_symbol",
    test: /[^\p{L}\p{N}]/u,
    message: "Password must contain at least one symbol, such as ! # % - or a space",
  },
];

function strengthMessage(warning: string | null, suggestions: string[]): string {
  const why = warning ? ` ${warning}` : "";
  const how = suggestions.length > 0 ? ` ${suggestions.join(" ")}` : "";
  return `Password is too easy to guess.${why}${how}`.trimEnd().replace(/\.$/, "");
}

/**
 * Checks a password against the policy and returns every violation (empty when it is
 * acceptable): length, character classes, all digits, resemblance to the email or name,
 * common passwords and a zxcvbn strength score of at least 3. The password is
 * NFKC-normalised first; hash {@linkcode normalizePassword}'s result.
 */
export async function checkPassword(
  password: string,
  options: PasswordCheckOptions = {},
): Promise<PasswordError[]> {
  const field = options.field ?? "password";
  const minLength = options.minLength ?? PASSWORD_MIN_LENGTH;
  const value = normalizePassword(password);
  const length = [...value].length;
  const errors: PasswordError[] = [];
  const fail = (code: string, message: string) => errors.push({ field, code, message });

  if (length < minLength) {
    fail("password_too_short", `Password must be at least ${minLength} characters long`);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    fail("password_too_long", `Password must be at most ${PASSWORD_MAX_LENGTH} characters long`);
  }
  if (length === 0) return errors;
  for (const rule of CLASS_RULES) if (!rule.test.test(value)) fail(rule.code, rule.message);
  if (/^\p{Nd}+$/u.test(value)) fail("password_all_digits", "Password must not be only digits");

  const info = { email: options.email, name: options.name };
  for (const detail of resemblances(value, info)) {
    fail(
      `password_similar_to_${detail}`,
      detail === "email"
        ? "Password must not contain or resemble your email address"
        : "Password must not contain or resemble your name",
    );
  }

  const { zxcvbn, common } = await loadScorer();
  if (isCommonPassword(value, common)) {
    fail(
      "password_common",
      "Password is one of the most common passwords, or a small variation of one",
    );
  }
  const result = zxcvbn.check(value, personalWords(info));
  if (result.score < MIN_STRENGTH_SCORE) {
    fail(
      "password_too_weak",
      strengthMessage(result.feedback.warning, result.feedback.suggestions),
    );
  }
  return errors;
}
