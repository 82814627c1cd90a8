/**
 * The first super admin: created from SUPER_ADMIN_USERNAME / SUPER_ADMIN_PASSWORD (or
 * generated in development) when none exists; the one bootstrap the CLI and the edge entries
 * use.
 */
import { countUsersWithRole, insertUser } from "../db/users_repo.ts";
import type { Db } from "../db/schema.ts";
import type { PasswordHasher } from "../platform/password_hasher.ts";
import { checkPassword, type PasswordError } from "./password_policy.ts";
import { hashPassword } from "./passwords.ts";

/** Options of {@linkcode bootstrapSuperAdmin}. */
export interface BootstrapOptions {
  username?: string;
  password?: string;
  /** Generate a password when none is configured (development only). */
  generateMissingPassword: boolean;
  /** PASSWORD_MIN_LENGTH; default the policy's. */
  passwordMinLength?: number;
  now: number;
}

/**
 * What bootstrap did; a generated password is returned once so the CLI can show it.
 * `no_administrator`: nothing was configured and no active admin or super admin exists,
 * so nobody can administer the deployment until one is created.
 */
export type BootstrapResult =
  | { created: false; reason: "exists" | "not_configured" | "no_administrator" }
  | { created: true; login: string; generatedPassword?: string };

/** SUPER_ADMIN_PASSWORD would create the super admin but fails the password policy. */
export class BootstrapPasswordRejected extends Error {
  constructor(readonly errors: PasswordError[]) {
    super(
      `SUPER_ADMIN_PASSWORD fails the password policy: ${errors.map((e) => e.message).join("; ")}`,
    );
    this.name = "BootstrapPasswordRejected";
  }
}

const DEV_ADMIN_LOGIN = "admin@citadel.localhost";

/** A strong random password: 24 characters from all four character classes. */
export function generatePassword(): string {
  const sets = ["ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#%+-=?@^_"];
  const all = sets.join("");
  const pick = (alphabet: string) => {
    const limit = 256 - (256 % alphabet.length);
    for (;;) {
      const [byte] = crypto.getRandomValues(new Uint8Array(1));
      if (byte < limit) return alphabet[byte % alphabet.length];
    }
  };
  const chars = [...sets.map(pick), ...Array.from({ length: 20 }, () => pick(all))];
  for (let i = chars.length - 1; i > 0; i--) {
    const j = crypto.getRandomValues(new Uint32Array(1))[0] % (i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join("");
}

/**
 * How SUPER_ADMIN_PASSWORD fares against the password policy, judged for the account
 * bootstrap would create (its login is compared with the password); empty when it passes.
 * `citadel check` calls this too, so both refuse the same passwords.
 */
export function bootstrapPasswordErrors(
  password: string,
  options: { username?: string; minLength?: number } = {},
): Promise<PasswordError[]> {
  const login = options.username ?? DEV_ADMIN_LOGIN;
  return checkPassword(password, {
    email: login.includes("@") ? login : undefined,
    name: login,
    minLength: options.minLength,
    field: "SUPER_ADMIN_PASSWORD",
  });
}

/**
 * Creates the first super admin when none exists. Never touches an existing admin's
 * password: restarting with different credentials changes nothing. Throws
 * {@linkcode BootstrapPasswordRejected} rather than create it with a password the policy
 * refuses to every other account.
 */
export async function bootstrapSuperAdmin(
  db: Db,
  hasher: PasswordHasher,
  options: BootstrapOptions,
): Promise<BootstrapResult> {
  if (await countUsersWithRole(db, "super_admin") > 0) return { created: false, reason: "exists" };
  let password = options.password;
  let generatedPassword: string | undefined;
  const login = options.username ?? DEV_ADMIN_LOGIN;
  if (!password) {
    if (!options.generateMissingPassword) {
      const admins = await countUsersWithRole(db, "admin");
      return { created: false, reason: admins > 0 ? "not_configured" : "no_administrator" };
    }
    password = generatedPassword = generatePassword();
  } else {
    const errors = await bootstrapPasswordErrors(password, {
      username: login,
      minLength: options.passwordMinLength,
    });
    if (errors.length > 0) throw new BootstrapPasswordRejected(errors);
  }
  const isEmail = login.includes("@");
  await insertUser(db, {
    email: isEmail ? login : `${login}@citadel.localhost`,
    username: isEmail ? null : login,
    passwordHash: await hashPassword(password, hasher),
    name: "Super admin",
    role: "super_admin",
    emailVerified: true,
  }, options.now);
  return { created: true, login, generatedPassword };
}
