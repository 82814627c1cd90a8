/**
 * The JSON shape of a user in responses; never the password hash.
 */
import type { User } from "../db/schema.ts";
import { hasPassword } from "./passwords.ts";

const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();

/** The JSON shape of a user; never includes the password hash. */
export function userView(user: User) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    status: user.status,
    created_at: iso(user.created_at),
    updated_at: iso(user.updated_at),
    last_login_at: iso(user.last_login_at),
    email_verified: user.email_verified_at !== null,
    mfa_enabled: user.mfa_enabled_at !== null,
    recovery_codes_left: user.recovery_codes_left,
    // False for an account a provider created until a password reset sets one.
    has_password: hasPassword(user.password_hash),
  };
}

/** The JSON shape of an active session (the owner's list and an admin's). */
export function sessionView(
  session: {
    id: string;
    created_at: number;
    last_used_at: number | null;
    ip: string | null;
    user_agent: string | null;
  },
) {
  return {
    id: session.id,
    created_at: iso(session.created_at),
    last_used_at: iso(session.last_used_at),
    ip: session.ip,
    user_agent: session.user_agent,
  };
}

export { iso };
