import { countUsersWithRole, insertUser } from "../db/users_repo.ts";
import type { Db } from "../db/schema.ts";
import type { PasswordHasher } from "../platform/password_hasher.ts";
import { hashPassword } from "./passwords.ts";

/** Options of {@linkcode bootstrapSuperAdmin}. */
export interface BootstrapOptions {
  username?: string;
  password?: string;
  /** Generate a password when none is configured (development only). */
  generateMissingPassword: boolean;
  now: number;
}

/** What bootstrap did; a generated password is returned once so the CLI can show it. */
export type BootstrapResult =
  | { created: false; reason: "exists" | "not_configured" }
  | { created: true; login: string; generatedPassword?: string };

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
 * Creates the first super admin when none exists. Never touches an existing admin's
 * password: restarting with different credentials changes nothing.
 */
export async function bootstrapSuperAdmin(
  db: Db,
  hasher: PasswordHasher,
  options: BootstrapOptions,
): Promise<BootstrapResult> {
  if (await countUsersWithRole(db, "super_admin") > 0) return { created: false, reason: "exists" };
  let password = options.password;
  let generatedPassword: string | undefined;
  if (!password) {
    if (!options.generateMissingPassword) return { created: false, reason: "not_configured" };
    password = generatedPassword = generatePassword();
  }
  const login = options.username ?? DEV_ADMIN_LOGIN;
  const isEmail = login.includes("@");
  await insertUser(db, {
    email: isEmail ? login : `${login}@citadel.localhost`,
    username: isEmail ? null : login,
    passwordHash: await hashPassword(password, hasher),
    name: "Super admin",
    role: "super_admin",
  }, options.now);
  return { created: true, login, generatedPassword };
}
