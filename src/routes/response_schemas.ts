/**
 * The response bodies several routes share, as zod schemas for the OpenAPI description (the
 * answers themselves are built by services/user_view.ts and the routes; the route tests check
 * every answer against these): a user, a session, the token pair, a completed login and the
 * second step's challenge.
 * @module
 */
import * as z from "zod";

/** An ISO-8601 timestamp (nullable where the moment may not have come). */
export const moment = z.iso.datetime({ offset: true });

/** A user as `userView` shows it (never the password hash). */
export const userSchema = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string().nullable(),
  role: z.enum(["user", "admin", "super_admin"]),
  status: z.enum(["active", "disabled"]),
  created_at: moment,
  updated_at: moment,
  last_login_at: moment.nullable(),
  email_verified: z.boolean(),
  mfa_enabled: z.boolean(),
  recovery_codes_left: z.number().int(),
  has_password: z.boolean(),
}).strict();

/** `{user}`. */
export const userBodySchema = z.object({ user: userSchema }).strict();

/** An active session as `sessionView` shows it. */
export const sessionSchema = z.object({
  id: z.string(),
  created_at: moment,
  last_used_at: moment.nullable(),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
}).strict();

/** RFC 6749 tokens of a session. */
export const tokenPairSchema = z.object({
  access_token: z.string(),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int(),
  refresh_token: z.string(),
});

/** The body of every completed login: the tokens, the user and the device credential. */
export const loginBodySchema = tokenPairSchema.extend({
  user: userSchema,
  device_token: z.string(),
}).strict();

/** The password step's answer when the account has a second factor. */
export const mfaRequiredSchema = z.object({
  mfa_required: z.literal(true),
  mfa_token: z.string(),
  methods: z.array(z.enum(["totp", "recovery_code", "passkey"])),
  expires_in: z.number().int(),
}).strict();

/** A login's answer: the session, or the second step it waits for. */
export const loginOrMfaSchema = z.union([loginBodySchema, mfaRequiredSchema]);

/** A passkey as services/passkeys.ts `passkeyView` shows it (never its key or counter). */
export const passkeySchema = z.object({
  id: z.uuid(),
  name: z.string(),
  created_at: moment,
  last_used_at: moment.nullable(),
  backed_up: z.boolean(),
  transports: z.array(z.string()),
}).strict();

/** A passkey as an administrator sees it (`listForAdmin`): with its suspension. */
export const adminPasskeySchema = passkeySchema.extend({ suspended_at: moment.nullable() })
  .strict();

/** A short confirmation (`{message}`) of an accepted request. */
export const messageSchema = z.object({ message: z.string() }).strict();
