import bcrypt from "bcryptjs";
import { sql } from "kysely";
import { recordAudit } from "../../../src/services/audit.ts";
import { dropAuditTriggers, loginFailed } from "../../support/audit_test_db.ts";
import { freshSecret } from "../../support/check_deployment.ts";
import { addApiKey, addUser, type Case, tableTest, withDb } from "../../support/check_table.ts";

const DAY_MS = 86_400_000;

const CASES: Case[] = [
  // Super admin
  {
    defect: "SUPER_ADMIN_USERNAME=admin",
    expected: ["CIT-010 medium"],
    exitCode: 0,
    apply: (d) => void (d.env.SUPER_ADMIN_USERNAME = "admin"),
  },
  {
    defect: "SUPER_ADMIN_PASSWORD common",
    expected: ["CIT-011 critical"],
    exitCode: 1,
    apply: (d) => void (d.env.SUPER_ADMIN_PASSWORD = "Password123!"),
  },
  {
    defect: "no super admin in the database",
    expected: ["CIT-012 high"],
    exitCode: 1,
    apply: (d) => withDb(d, (db) => db.updateTable("users").set({ role: "admin" }).execute()),
  },
  {
    defect: "five super admins",
    expected: ["CIT-013 medium"],
    exitCode: 0,
    async apply(d) {
      for (let i = 1; i <= 4; i++) {
        await addUser(d, { email: `root${i}@example.com`, role: "super_admin" });
      }
    },
  },
  {
    defect: "an admin idle for 100 days",
    expected: ["CIT-014 low"],
    exitCode: 0,
    apply: (d) =>
      addUser(d, { email: "former@example.com", role: "admin", lastLogin: d.now - 100 * DAY_MS }),
  },
  // Database
  {
    defect: "a weak password in a remote DATABASE_URL",
    expected: ["CIT-020 critical", "CIT-032 high"],
    exitCode: 1,
    apply: (d) => void (d.env.DATABASE_URL = "libsql://citadel:hunter2@db.citadel-check.invalid"),
  },
  {
    defect: "a remote DATABASE_URL over plain http",
    expected: ["CIT-021 high", "CIT-032 high"],
    exitCode: 1,
    apply: (d) => void (d.env.DATABASE_URL = "http://db.citadel-check.invalid:8080"),
  },
  {
    defect: "database file mode 644",
    expected: ["CIT-022 high"],
    exitCode: 1,
    apply: (d) => Deno.chmod(d.dbPath, 0o644),
  },
  {
    defect: "database directory mode 755",
    expected: ["CIT-023 high"],
    exitCode: 1,
    apply: (d) => Deno.chmod(`${d.dir}/data`, 0o755),
  },
  {
    defect: "no DATABASE_ENCRYPTION_KEY",
    expected: ["CIT-024 medium"],
    exitCode: 0,
    fixture: { encrypted: false },
    apply: () => {},
  },
  {
    defect: "pending migrations",
    expected: ["CIT-025 high"],
    exitCode: 1,
    apply: (d) =>
      withDb(
        d,
        // The state a database of the previous version is in: the table is not there yet.
        async (db) => {
          await db.deleteFrom("citadel_migrations").where("name", "=", "0006_login_history")
            .execute();
          await sql`DROP TABLE login_history`.execute(db);
        },
      ),
  },
  {
    defect: "an applied migration changed",
    expected: ["CIT-026 critical"],
    exitCode: 1,
    apply: (d) =>
      withDb(
        d,
        (db) =>
          db.updateTable("citadel_migrations").set({ checksum: "0".repeat(64) }).where(
            "name",
            "=",
            "0002_sessions",
          ).execute(),
      ),
  },
  {
    defect: "a table with integer ids",
    // A table no migration creates is also a schema difference.
    expected: ["CIT-027 high", "CIT-033 critical"],
    exitCode: 1,
    apply: (d) =>
      withDb(
        d,
        (db) =>
          sql`CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, total INTEGER)`.execute(
            db,
          ),
      ),
  },
  {
    defect: "a user on bcrypt",
    expected: ["CIT-028 medium"],
    exitCode: 0,
    apply: async (d) =>
      addUser(d, {
        email: "legacy@example.com",
        role: "user",
        hash: await bcrypt.hash("legacy password", 4),
      }),
  },
  {
    defect: "login records older than the retention",
    expected: ["CIT-029 low"],
    exitCode: 0,
    apply: (d) =>
      withDb(d, (db) =>
        db.insertInto("login_history").values({
          email: "ops-lead@example.com",
          ip_key: "203.0.113.9",
          last_success_at: d.now - 31 * DAY_MS,
        }).execute()),
  },
  {
    defect: "login counters older than the retention",
    expected: ["CIT-029 low"],
    exitCode: 0,
    apply: (d) =>
      withDb(
        d,
        (db) =>
          db.insertInto("counters").values({
            key: "login:pair:x",
            count: 3,
            reset_at: d.now - 40 * DAY_MS,
          }).execute(),
      ),
  },
  {
    defect: "a modified audit row",
    // Dropping the append-only triggers is itself a schema difference.
    expected: ["CIT-030 critical", "CIT-033 critical"],
    exitCode: 1,
    apply: (d) =>
      withDb(d, async (db) => {
        const clock = { now: () => d.now };
        for (let i = 1; i <= 3; i++) await recordAudit(db, loginFailed(i), { clock });
        await dropAuditTriggers(db);
        await db.updateTable("audit_events").set({ ip: "198.51.100.7" }).where("seq", "=", 2)
          .execute();
      }),
  },
  {
    defect: "no database file yet",
    expected: [],
    info: ["CIT-031"],
    exitCode: 0,
    fixture: { database: false },
    apply: () => {},
  },
  {
    defect: "the wrong DATABASE_ENCRYPTION_KEY",
    expected: ["CIT-032 high"],
    exitCode: 1,
    apply: (d) => void (d.env.DATABASE_ENCRYPTION_KEY = freshSecret(32)),
  },
  {
    defect: "a trigger that promotes users to super admin",
    expected: ["CIT-033 critical"],
    exitCode: 1,
    apply: (d) =>
      withDb(
        d,
        (db) =>
          sql`CREATE TRIGGER sessions_promote AFTER INSERT ON sessions BEGIN
            UPDATE users SET role = 'super_admin' WHERE id = NEW.user_id; END`.execute(db),
      ),
  },
  // API keys
  {
    defect: "an API key that never expires",
    expected: ["CIT-071 medium"],
    exitCode: 0,
    apply: (d) => addApiKey(d, 100 * 365),
  },
  {
    defect: "an API key living 400 days",
    expected: ["CIT-072 medium"],
    exitCode: 0,
    apply: (d) => addApiKey(d, 400),
  },
];

tableTest(CASES);
