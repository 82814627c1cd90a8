import assert from "node:assert/strict";
import type { Db } from "../../src/db/schema.ts";
import { cliDb, seedSession, seedUser } from "../support/cli_db.ts";

const DAY = 86_400_000;

/** One account of each kind that matters to pruning at --days 30. */
async function seedAccounts(db: Db) {
  const now = Date.now();
  const old = now - 100 * DAY;
  const users = {
    stale: await seedUser(db, "stale@example.com", { createdAt: old, lastLoginAt: now - 60 * DAY }),
    neverLoggedIn: await seedUser(db, "never@example.com", { createdAt: old }),
    staleAdmin: await seedUser(db, "admin@example.com", {
      role: "admin",
      createdAt: old,
      lastLoginAt: now - 45 * DAY,
    }),
    staleDisabled: await seedUser(db, "disabled@example.com", {
      status: "disabled",
      createdAt: old,
    }),
    recent: await seedUser(db, "recent@example.com", { createdAt: old, lastLoginAt: now - DAY }),
    newcomer: await seedUser(db, "new@example.com", { createdAt: now - 2 * DAY }),
    staleOwner: await seedUser(db, "owner@example.com", {
      role: "super_admin",
      createdAt: old,
      lastLoginAt: now - 90 * DAY,
    }),
  };
  const sessions = {
    stale: await seedSession(db, users.stale.id),
    recent: await seedSession(db, users.recent.id),
    owner: await seedSession(db, users.staleOwner.id),
  };
  return { users, sessions };
}

async function snapshot(db: Db) {
  return {
    users: await db.selectFrom("users").select(["email", "status", "updated_at"]).orderBy("email")
      .execute(),
    sessions: await db.selectFrom("sessions").select(["id", "revoked_at"]).orderBy("id").execute(),
  };
}

async function statuses(db: Db): Promise<Record<string, string>> {
  const rows = await db.selectFrom("users").select(["email", "status"]).execute();
  return Object.fromEntries(rows.map((r) => [r.email, r.status]));
}

Deno.test("users prune-inactive --dry-run lists the inactive accounts and changes nothing", async () => {
  await using t = await cliDb();
  await seedAccounts(t.db);
  const before = await snapshot(t.db);
  const result = await t.run(["users", "prune-inactive", "--days", "30", "--dry-run"]);
  assert.equal(result.code, 0, result.stderr);
  const listed = [...result.stdout.matchAll(/^ {2}\S+ {2}(\S+@\S+) /gm)].map((m) => m[1]).sort();
  assert.deepEqual(listed, ["admin@example.com", "never@example.com", "stale@example.com"]);
  assert.match(result.stdout, /never@example\.com {2}user {2}active {2}never logged in/);
  assert.match(
    result.stdout,
    /Dry run: 3 accounts would be disabled; 1 super admin skipped \(never pruned\)/,
  );
  assert.deepEqual(await snapshot(t.db), before);
});

Deno.test("users prune-inactive disables inactive accounts, revokes their sessions and spares super admins", async () => {
  await using t = await cliDb();
  const { sessions } = await seedAccounts(t.db);
  const result = await t.run(["users", "prune-inactive", "--days", "30"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    result.stdout,
    /^3 accounts disabled, 1 session revoked; 1 super admin skipped \(never pruned\)$/m,
  );
  assert.deepEqual(await statuses(t.db), {
    "stale@example.com": "disabled",
    "never@example.com": "disabled",
    "admin@example.com": "disabled",
    "disabled@example.com": "disabled",
    "recent@example.com": "active",
    "new@example.com": "active",
    "owner@example.com": "active",
  });
  const rows = await t.db.selectFrom("sessions").select(["id", "revoked_at", "revoke_reason"])
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  assert.equal(byId.get(sessions.stale)!.revoke_reason, "disabled");
  assert.equal(byId.get(sessions.recent)!.revoked_at, null);
  assert.equal(byId.get(sessions.owner)!.revoked_at, null);

  const again = await t.run(["users", "prune-inactive", "--days", "30"]);
  assert.match(again.stdout, /^0 accounts disabled, 0 sessions revoked/m);
});

Deno.test("users prune-inactive --delete removes inactive accounts, disabled ones too, revoking their sessions", async () => {
  await using t = await cliDb();
  const { sessions } = await seedAccounts(t.db);
  const result = await t.run(["users", "prune-inactive", "--days", "30", "--delete"]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^4 accounts deleted, 1 session revoked; 1 super admin skipped/m);
  const emails = (await t.db.selectFrom("users").select("email").orderBy("email").execute())
    .map((u) => u.email);
  assert.deepEqual(emails, ["new@example.com", "owner@example.com", "recent@example.com"]);
  // The deleted user's session stays as a revoked tombstone so every server refuses it.
  const revoked = await t.db.selectFrom("sessions").select(["id", "revoke_reason"])
    .where("revoked_at", "is not", null).execute();
  assert.deepEqual(revoked, [{ id: sessions.stale, revoke_reason: "deleted" }]);
});

const USAGE_ERRORS: [string, string[]][] = [
  ["no --days", ["users", "prune-inactive"]],
  ["--days 0", ["users", "prune-inactive", "--days", "0"]],
  ["--days 1.5", ["users", "prune-inactive", "--days", "1.5"]],
  ["an unknown subcommand", ["users", "purge"]],
  ["an unknown option", ["users", "prune-inactive", "--days", "3", "--force"]],
];
for (const [why, args] of USAGE_ERRORS) {
  Deno.test(`users exits 2 with usage for ${why}`, async () => {
    await using t = await cliDb();
    const result = await t.run(args);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /prune-inactive|Unknown option/);
  });
}
