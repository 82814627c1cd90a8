import { Buffer } from "node:buffer";
import { type CheckOutcome, runCheck, type RunCheckOptions } from "../../src/cli/check.ts";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import type { Db } from "../../src/db/schema.ts";
import { insertUser } from "../../src/db/users_repo.ts";
import { createFieldCipher, parseFieldKey } from "../../src/lib/field_crypto.ts";
import { recordAudit } from "../../src/services/audit.ts";
import { createSigningKeys, type SigningKeys } from "../../src/services/signing_keys.ts";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { OWASP_ARGON2 } from "../../src/platform/password_hasher.ts";
import type { Finding } from "../../src/tools/check/types.ts";

const DAY_MS = 86_400_000;

/** A fresh 64-byte secret, as `citadel secret` prints it. */
export function freshSecret(bytes = 64): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64");
}

let ownerHash: Promise<string> | undefined;
// One real argon2id hash at the OWASP parameters, shared: hashing costs ~50 ms.
function strongHash(): Promise<string> {
  ownerHash ??= nativeArgon2(OWASP_ARGON2).hash(freshSecret(24));
  return ownerHash;
}

/** A deployment on disk: files, database and environment, as an operator would have it. */
export interface Deployment {
  dir: string;
  /** The real environment handed to the check (`.env` in `dir` adds to it). */
  env: Record<string, string>;
  dbPath: string;
  logDir: string;
  executable: string;
  uid: number | null;
  now: number;
  /** Opens the deployment's database (with its key); the caller destroys it. */
  open(): Promise<Db>;
  /** Runs the whole audit in this process. */
  check(options?: Partial<RunCheckOptions>): Promise<CheckOutcome>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@linkcode hardenedDeployment}. */
export interface DeploymentOptions {
  /** Encrypt the database at rest (default true). */
  encrypted?: boolean;
  /** Create the database (default true). */
  database?: boolean;
}

async function writeFile(path: string, text: string, mode: number): Promise<void> {
  await Deno.writeTextFile(path, text);
  await Deno.chmod(path, mode);
}

/**
 * A production deployment with nothing to report: TLS at a trusted proxy, exact hosts
 * and origins, a strong JWT secret and hash pepper in a mode-600 `.env`, an encrypted
 * mode-600 database with one recently active super admin, private logs, an unprivileged
 * user.
 */
export async function hardenedDeployment(options: DeploymentOptions = {}): Promise<Deployment> {
  const dir = await Deno.makeTempDir({ prefix: "citadel-check-" });
  const dbPath = `${dir}/data/citadel.db`;
  const logDir = `${dir}/logs`;
  const executable = `${dir}/bin/citadel`;
  const encryptionKey = options.encrypted === false ? undefined : freshSecret(32);
  const now = Date.now();

  await writeFile(
    `${dir}/.env`,
    `# citadel\nJWT_SECRET_KEY="${freshSecret()}"\nHASH_PEPPER="${freshSecret()}"\n`,
    0o600,
  );
  await Deno.mkdir(logDir, { mode: 0o700 });
  await Deno.chmod(logDir, 0o700);
  await writeFile(`${logDir}/citadel.log`, '{"msg":"listening"}\n', 0o600);
  await Deno.mkdir(`${dir}/bin`);
  await writeFile(executable, "#!/bin/sh\n", 0o755);

  const env: Record<string, string> = {
    APP_ENV: "production",
    DATABASE_URL: `file:${dbPath}`,
    ALLOWED_HOSTS: "api.example.com",
    CORS_ORIGINS: "https://app.example.com",
    TRUSTED_PROXIES: "127.0.0.1",
    LOG_DIR: logDir,
    SUPER_ADMIN_USERNAME: "ops-lead@example.com",
    REQUIRE_MFA_FOR_ADMINS: "true",
  };
  if (encryptionKey) env.DATABASE_ENCRYPTION_KEY = encryptionKey;

  const open = async () =>
    (await connect({ databaseUrl: `file:${dbPath}`, databaseEncryptionKey: encryptionKey })).db;
  if (options.database !== false) {
    const db = await open();
    try {
      await migrateUp(db);
      const owner = await insertUser(db, {
        email: "ops-lead@example.com",
        passwordHash: await strongHash(),
        role: "super_admin",
      }, now - 30 * DAY_MS);
      await db.updateTable("users").set({ last_login_at: now - DAY_MS })
        .where("id", "=", owner.id).execute();
      await db.insertInto("api_keys").values({
        id: crypto.randomUUID(),
        user_id: owner.id,
        name: "billing",
        prefix: "ctd_abcd",
        scopes: '["me:read"]',
        rate_limit_per_minute: null,
        created_at: now - DAY_MS,
        expires_at: now + 89 * DAY_MS,
        last_used_at: null,
        last_used_ip: null,
        revoked_at: null,
      }).execute();
    } finally {
      await db.destroy();
    }
  }

  const deployment: Deployment = {
    dir,
    env,
    dbPath,
    logDir,
    executable,
    uid: 1000,
    now,
    open,
    check: (extra = {}) =>
      runCheck({
        env: deployment.env,
        cwd: dir,
        uid: deployment.uid,
        executable: deployment.executable,
        now: deployment.now,
        ...extra,
      }),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
  return deployment;
}

/** The findings above info as "CIT-NNN severity", sorted: what a table case compares. */
export function significant(findings: readonly Finding[]): string[] {
  return findings.filter((f) => f.severity !== "info").map((f) => `${f.id} ${f.severity}`).sort();
}

/** Removes `name` from the deployment's `.env`, as for an operator who never set it. */
export async function unsetInEnvFile(d: Deployment, name: string): Promise<void> {
  const path = `${d.dir}/.env`;
  const lines = (await Deno.readTextFile(path)).split("\n");
  await Deno.writeTextFile(path, lines.filter((l) => !l.startsWith(`${name}=`)).join("\n"));
}

/**
 * Runs `work` with the real signing-key life cycle on the deployment's database (also
 * handed over): its clock stands at `at` (default the deployment's now), private keys are
 * encrypted under `encryptionKey` (base64 of 32 bytes), events go to the audit chain.
 */
export async function withSigningKeys(
  d: Deployment,
  options: { encryptionKey: string; at?: number },
  work: (keys: SigningKeys, db: Db) => Promise<unknown>,
): Promise<void> {
  const parsed = parseFieldKey(options.encryptionKey);
  if ("problem" in parsed) throw new Error(`encryption key ${parsed.problem}`);
  const clock = { now: () => options.at ?? d.now };
  const db = await d.open();
  try {
    await work(
      createSigningKeys({
        db,
        clock,
        cipher: () => createFieldCipher({ current: parsed.key }),
        audit: (executor, event) => recordAudit(executor, event, { clock }),
        accessTtlSeconds: 900,
        publishDelaySeconds: 600,
      }),
      db,
    );
  } finally {
    await db.destroy();
  }
}
