import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import type { Db, Role, User, UserStatus } from "../../src/db/schema.ts";
import { insertUser } from "../../src/db/users_repo.ts";
import { runCli, tempDir, TEST_SECRET } from "./helpers.ts";

/** A migrated database file in a temporary directory, and the env that points the CLI at it. */
export interface CliDb {
  dir: string;
  env: Record<string, string>;
  db: Db;
  run(args: string[], stdin?: string): ReturnType<typeof runCli>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates the database file, migrated, for CLI tests; the CLI opens the same file. */
export async function cliDb(): Promise<CliDb> {
  const dir = await tempDir();
  const env = {
    APP_ENV: "test",
    DATABASE_URL: `file:${dir.path}/x.db`,
    JWT_SECRET_KEY: TEST_SECRET,
    ARGON2_MEMORY_KIB: "1024",
    ARGON2_TIME_COST: "1",
  };
  const { db } = await connect({ databaseUrl: env.DATABASE_URL });
  await migrateUp(db);
  return {
    dir: dir.path,
    env,
    db,
    run: (args, stdin) => runCli(args, { env, cwd: dir.path, stdin }),
    async [Symbol.asyncDispose]() {
      await db.destroy();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Inserts a user with the given role, status and activity times. */
export async function seedUser(
  db: Db,
  email: string,
  options: {
    role?: Role;
    status?: UserStatus;
    createdAt?: number;
    lastLoginAt?: number | null;
    passwordHash?: string;
  } = {},
): Promise<User> {
  const created = options.createdAt ?? Date.now();
  const user = await insertUser(db, {
    email,
    passwordHash: options.passwordHash ?? "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
    role: options.role,
    status: options.status,
  }, created);
  const lastLoginAt = options.lastLoginAt ?? null;
  await db.updateTable("users").set({ last_login_at: lastLoginAt }).where("id", "=", user.id)
    .execute();
  return { ...user, last_login_at: lastLoginAt };
}

/** Opens a session for a user, optionally already revoked; returns its id. */
export async function seedSession(
  db: Db,
  userId: string,
  revoked?: { at: number; reason: string },
): Promise<string> {
  const id = crypto.randomUUID();
  const now = Date.now();
  await db.insertInto("sessions").values({
    id,
    user_id: userId,
    created_at: now,
    last_used_at: now,
    expires_at: now + 86_400_000,
    revoked_at: revoked?.at ?? null,
    revoke_reason: revoked?.reason ?? null,
    ip: "127.0.0.1",
    user_agent: "test",
  }).execute();
  return id;
}
