/**
 * Plain reads and inserts of `users` rows, and email normalisation, the one form an email is
 * stored and compared in.
 */
import type { Db, Role, User, UserStatus } from "./schema.ts";

/** Lower-cased, trimmed, NFKC-normalised email; the form stored and compared. */
export function normalizeEmail(email: string): string {
  return email.normalize("NFKC").trim().toLowerCase();
}

/** Fields of a new user; the id and timestamps are set here. */
export interface NewUserInput {
  email: string;
  username?: string | null;
  passwordHash: string;
  name?: string | null;
  role?: Role;
  status?: UserStatus;
  /** The operator vouches for the address (bootstrap, `citadel admin create`). */
  emailVerified?: boolean;
}

/** Inserts a user with a fresh UUID v4 and returns it. */
export async function insertUser(db: Db, input: NewUserInput, now: number): Promise<User> {
  const user: User = {
    id: crypto.randomUUID(),
    email: normalizeEmail(input.email),
    username: input.username ? input.username.normalize("NFKC").trim().toLowerCase() : null,
    password_hash: input.passwordHash,
    name: input.name ?? null,
    role: input.role ?? "user",
    status: input.status ?? "active",
    created_at: now,
    updated_at: now,
    last_login_at: null,
    mfa_enabled_at: null,
    recovery_codes_left: 0,
    email_verified_at: input.emailVerified ? now : null,
  };
  await db.insertInto("users").values(user).execute();
  return user;
}

/** Finds a user by email, or by username for accounts that have one (the bootstrap admin). */
export async function findUserByLogin(db: Db, login: string): Promise<User | undefined> {
  const normalized = normalizeEmail(login);
  return await db.selectFrom("users").selectAll()
    .where((eb) => eb.or([eb("email", "=", normalized), eb("username", "=", normalized)]))
    .executeTakeFirst();
}

export async function findUserById(db: Db, id: string): Promise<User | undefined> {
  return await db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function countUsersWithRole(db: Db, role: Role): Promise<number> {
  const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n"))
    .where("role", "=", role).where("status", "=", "active").executeTakeFirstOrThrow();
  return Number(row.n);
}
