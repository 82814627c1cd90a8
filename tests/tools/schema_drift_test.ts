import assert from "node:assert/strict";
import { CheckReportSchema } from "../../src/lib/check_report_schema.ts";
import { ensureIdMapTable } from "../../src/tools/uuid_migration/id_map.ts";
import { fileHash, open } from "../support/legacy_db.ts";
import { cliDb } from "../support/cli_db.ts";

/** Drops the audit log's append-only triggers and adds one that makes users super admins. */
const TAMPER = `
  DROP TRIGGER audit_events_no_update;
  DROP TRIGGER audit_events_no_delete;
  CREATE TRIGGER sessions_promote AFTER INSERT ON sessions BEGIN
    UPDATE users SET role = 'super_admin' WHERE id = NEW.user_id;
  END;
`;

async function tamper(path: string): Promise<void> {
  const client = open(path);
  try {
    await client.executeMultiple(TAMPER);
  } finally {
    client.close();
  }
}

Deno.test("restore refuses a backup whose triggers were dropped or added, naming each, and leaves the database unchanged", async () => {
  await using d = await cliDb();
  const backup = `${d.dir}/tampered.db`;
  assert.equal((await d.run(["backup", "--out", backup])).code, 0);
  await tamper(backup);
  const before = await fileHash(`${d.dir}/x.db`);

  const restore = await d.run(["restore", backup, "--yes"]);
  assert.equal(restore.code, 1, restore.stdout);
  assert.match(restore.stderr, /refusing .*tampered\.db/);
  assert.match(restore.stderr, /schema: trigger audit_events_no_delete is missing/);
  assert.match(restore.stderr, /schema: trigger audit_events_no_update is missing/);
  assert.match(restore.stderr, /schema: trigger sessions_promote is not created by any migration/);
  assert.equal(await fileHash(`${d.dir}/x.db`), before);
});

Deno.test("restore refuses a backup whose table definition was changed", async () => {
  await using d = await cliDb();
  const backup = `${d.dir}/changed.db`;
  assert.equal((await d.run(["backup", "--out", backup])).code, 0);
  const client = open(backup);
  // Rewrites the CHECK on roles the way a hand edit of sqlite_master would.
  await client.executeMultiple(`
    PRAGMA writable_schema = ON;
    UPDATE sqlite_master SET sql = replace(sql, '''super_admin''', '''super_admin'', ''root''')
      WHERE name = 'users';
    PRAGMA writable_schema = OFF;
  `);
  client.close();
  const restore = await d.run(["restore", backup, "--yes"]);
  assert.equal(restore.code, 1);
  assert.match(restore.stderr, /schema: table users differs from the one the migrations create/);
});

Deno.test("check reports a schema that differs from the migrations as critical CIT-033, and none for an untouched one", async () => {
  await using d = await cliDb();
  // import-users adds legacy_id_map: citadel's own command, so not a difference.
  const client = open(`${d.dir}/x.db`);
  await ensureIdMapTable(client);
  client.close();
  const findings = async () => {
    const result = await d.run(["check", "--json"]);
    return CheckReportSchema.parse(JSON.parse(result.stdout)).findings
      .filter((f) => f.id === "CIT-033");
  };
  assert.deepEqual(await findings(), []);

  await tamper(`${d.dir}/x.db`);
  const [finding] = await findings();
  assert.equal(finding?.severity, "critical");
  assert.equal(
    finding.found,
    "trigger audit_events_no_delete is missing; trigger audit_events_no_update is missing; " +
      "trigger sessions_promote is not created by any migration",
  );
});
