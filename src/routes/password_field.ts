/**
 * The one schema of every password a route reads (register, login, password change), so
 * the rules a password field obeys cannot drift apart between endpoints.
 */
import * as z from "zod";

/** Longer input is refused before hashing: argon2 would hash it, at a cost to the server. */
const MAX_PASSWORD_LENGTH = 4096;

/**
 * A password field: required, at most 4096 characters, and well-formed Unicode. A lone
 * UTF-16 surrogate has no UTF-8 encoding; TextEncoder writes U+FFFD in its place before
 * hashing, so `x\ud800` and `x\udfff` would hash alike and each would log in as the other.
 */
export const passwordField = z.string()
  .min(1, "is required")
  .max(MAX_PASSWORD_LENGTH)
  .refine((value) => value.isWellFormed(), "must be well-formed Unicode (no lone surrogates)");
