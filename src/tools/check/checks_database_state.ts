/**
 * The `citadel check` findings read from the database: migrations, schema drift, integer keys,
 * weak hashes, retention and the audit chain (CIT-025 to CIT-033).
 */
import { sql } from "kysely";
import { migrations } from "../../../migrations/mod.ts";
import { type MigrationStatus, migrationStatus } from "../../db/migrator.ts";
import type { Db } from "../../db/schema.ts";
import { argon2ParamsOf } from "../../platform/password_hasher.ts";
import { auditSigningSecrets } from "../../services/audit_checkpoint.ts";
import { describeDifference, schemaDifferences } from "../schema_drift.ts";
import { verifyAuditChain } from "../../services/audit_verify.ts";
import { hasIntegerAffinity } from "../uuid_migration/introspect.ts";
import { type CheckContext, type CheckDefinition, defineCheck, type Detail } from "./types.ts";

const DAY_MS = 86_400_000;
// Integer keys here are by design: the audit chain's sequence and bookkeeping tables.
const INTEGER_KEY_ALLOWED = new Set(["audit_events", "citadel_migrations", "legacy_id_map"]);

function needs(context: CheckContext, ...tables: string[]): Db | undefined {
  const database = context.database;
  return database && tables.every((t) => database.tables.has(t)) ? database.db : undefined;
}

async function integerKeyTables(context: CheckContext): Promise<string[]> {
  const database = context.database;
  if (!database) return [];
  const found: string[] = [];
  for (const table of [...database.tables].sort()) {
    if (INTEGER_KEY_ALLOWED.has(table)) continue;
    const columns = await sql<{ name: string; type: string; pk: number }>`
      SELECT name, type, pk FROM pragma_table_info(${table})
    `.execute(database.db);
    const keys = columns.rows.filter((c) => Number(c.pk) > 0);
    if (keys.length === 1 && hasIntegerAffinity(keys[0].type)) found.push(table);
  }
  return found;
}

async function legacyHashes(context: CheckContext): Promise<Detail[]> {
  const db = needs(context, "users");
  if (!db) return [];
  // Groups by the hash's algorithm and parameters, so no individual hash is read.
  const groups = await sql<{ head: string; n: number }>`
    SELECT CASE
        WHEN password_hash LIKE '$argon2id$%'
          THEN substr(password_hash, 1, instr(substr(password_hash, 16), '$') + 15)
        ELSE substr(password_hash, 1, 4)
      END AS head, count(*) AS n
    FROM users GROUP BY head
  `.execute(db);
  const wanted = context.config.argon2;
  let bcrypt = 0;
  let weak = 0;
  let other = 0;
  for (const { head, n } of groups.rows) {
    const params = argon2ParamsOf(head);
    if (params) {
      const below = params.memoryKib < wanted.memoryKib || params.timeCost < wanted.timeCost ||
        params.parallelism < wanted.parallelism;
      if (below) weak += Number(n);
    } else if (/^\$2[aby]\$/.test(head)) bcrypt += Number(n);
    else other += Number(n);
  }
  const parts = [
    bcrypt && `${bcrypt} on bcrypt`,
    weak && `${weak} on argon2id weaker than the configured parameters`,
    other && `${other} on another or unrecognised scheme`,
  ].filter(Boolean);
  return parts.length > 0
    ? [{ found: `users with legacy password hashes: ${parts.join(", ")}` }]
    : [];
}

async function staleRecords(context: CheckContext): Promise<Detail[]> {
  const database = context.database;
  if (!database) return [];
  const cutoff = context.now - context.config.loginGuard.retentionDays * DAY_MS;
  const count = async (table: string, column: string) => {
    if (!database.tables.has(table)) return 0;
    const row = await sql<{ n: number }>`
      SELECT count(*) AS n FROM ${sql.table(table)} WHERE ${sql.ref(column)} < ${cutoff}
    `.execute(database.db);
    return Number(row.rows[0]?.n ?? 0);
  };
  const logins = await count("login_history", "last_success_at");
  const counters = await count("counters", "reset_at") + await count("blocks", "until");
  const sessions = await count("sessions", "expires_at");
  const parts = [
    logins && `${logins} login records`,
    counters && `${counters} expired rate-limit and login-guard counters`,
    sessions && `${sessions} expired sessions`,
  ].filter(Boolean);
  const days = context.config.loginGuard.retentionDays;
  return parts.length > 0
    ? [{ found: `${parts.join(", ")} older than LOGIN_ATTEMPT_RETENTION_DAYS=${days}` }]
    : [];
}

/** Checks that read the database: schema state, accounts, retention, audit chain. */
export const DATABASE_STATE_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-025",
    severity: "high",
    group: "database",
    title: "Pending database migrations",
    fix: "Run `citadel migrate up` (or start the server with MIGRATE_ON_START=true)",
    async run(context) {
      if (!context.database) return [];
      const pending = (await statuses(context)).filter((s) => !s.applied).map((s) => s.name);
      return pending.length > 0
        ? [{ found: `${pending.length} migration(s) not applied: ${pending.join(", ")}` }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-026",
    severity: "critical",
    group: "database",
    title: "An applied migration was changed",
    fix: "Restore the original migration code (the binary you upgraded from) and add a new " +
      "migration for the change; compare with `citadel migrate status`",
    async run(context) {
      if (!context.database) return [];
      const changed = (await statuses(context)).filter((s) => !s.checksumOk).map((s) => s.name);
      return changed.length > 0 ? [{ found: `checksum mismatch for ${changed.join(", ")}` }] : [];
    },
  }),
  defineCheck({
    id: "CIT-027",
    severity: "high",
    group: "database",
    title: "Tables still use integer primary keys",
    fix: "Run `citadel migrate uuid --database <file> --dry-run`, then without --dry-run",
    async run(context) {
      const tables = await integerKeyTables(context);
      return tables.length > 0
        ? [{ found: `integer (enumerable) ids in: ${tables.join(", ")}` }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-028",
    severity: "medium",
    group: "database",
    title: "Users on legacy password hashes",
    fix: "Each hash is replaced with argon2id at that user's next login; disable or reset " +
      "accounts that never return (`citadel users prune-inactive --days 180 --dry-run`)",
    run: legacyHashes,
  }),
  defineCheck({
    id: "CIT-029",
    severity: "low",
    group: "database",
    title: "Records kept longer than the retention period",
    fix: "Run `citadel cleanup`",
    run: staleRecords,
  }),
  defineCheck({
    id: "CIT-030",
    severity: "critical",
    group: "database",
    title: "Audit log hash chain is broken",
    fix: "Run `citadel audit verify` for details; investigate the tampering and keep a copy " +
      "of the database as evidence before restoring a backup",
    async run(context) {
      const db = needs(context, "audit_events", "audit_checkpoints");
      if (!db) return [];
      const result = await verifyAuditChain(db, {
        signingSecrets: auditSigningSecrets(context.config),
      });
      const broken = result.firstBroken;
      return broken
        ? [{ found: `first broken link at seq ${broken.seq} (id ${broken.id}): ${broken.reason}` }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-031",
    severity: "info",
    group: "database",
    title: "Database does not exist yet",
    fix: "Run `citadel migrate up` or start the server, then run `citadel check` again",
    run(context) {
      const file = context.files.databaseFiles[0];
      return !context.database && file && !file.exists
        ? [{ found: `${file.path} does not exist, so the database checks were skipped` }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-032",
    severity: "high",
    group: "database",
    title: "Database cannot be opened",
    fix: "Check DATABASE_URL, DATABASE_AUTH_TOKEN and DATABASE_ENCRYPTION_KEY, and that the " +
      "database is reachable from here",
    run: (context) =>
      context.databaseError
        ? [{ found: `${context.databaseError}; the database checks were skipped` }]
        : [],
  }),
  defineCheck({
    id: "CIT-033",
    severity: "critical",
    group: "database",
    title: "The database schema differs from what the migrations create",
    fix: "Treat it as tampering: keep a copy as evidence, find who changed the schema, then " +
      "restore a backup that `citadel restore` accepts (it refuses one with the same drift)",
    async run(context) {
      const db = needs(context, "citadel_migrations");
      if (!db) return [];
      const differences = await schemaDifferences(db);
      return differences.length > 0
        ? [{ found: differences.map(describeDifference).join("; ") }]
        : [];
    },
  }),
];

function noneApplied(): MigrationStatus[] {
  return migrations.map(([name]) => ({ name, applied: false, checksumOk: true }));
}

// migrationStatus would create its table; a database without one has applied nothing.
const statusCache = new WeakMap<CheckContext, ReturnType<typeof migrationStatus>>();

function statuses(context: CheckContext): ReturnType<typeof migrationStatus> {
  let cached = statusCache.get(context);
  if (!cached) {
    cached = context.database!.tables.has("citadel_migrations")
      ? migrationStatus(context.database!.db)
      : Promise.resolve(noneApplied());
    statusCache.set(context, cached);
  }
  return cached;
}
