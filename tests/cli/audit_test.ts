import assert from "node:assert/strict";
import { sql } from "kysely";
import { recordAudit } from "../../src/services/audit.ts";
import { runCli, TEST_SECRET } from "../support/helpers.ts";
import {
  appendEvents,
  dropAuditTriggers,
  loginFailed,
  openAuditTestDb,
} from "../support/audit_test_db.ts";

function cliEnv(path: string): Record<string, string> {
  return { APP_ENV: "test", DATABASE_URL: `file:${path}`, JWT_SECRET_KEY: TEST_SECRET };
}

Deno.test("citadel audit prune keeps the chain verifiable and verify exits 1 on tampering", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 6); // 2026-01-01T00:00Z .. 00:05Z
  const env = cliEnv(t.path);

  const ok = await runCli(["audit", "verify"], { env, cwd: t.dir });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /audit chain ok: 6 events checked; head seq 6 hash [0-9a-f]{64}/);

  const dry = await runCli(["audit", "prune", "--before", "2026-01-01T00:03:00Z", "--dry-run"], {
    env,
    cwd: t.dir,
  });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would prune 3 events \(seq 1\.\.3\)/);

  const pruned = await runCli(["audit", "prune", "--before", "2026-01-01T00:03:00Z"], {
    env,
    cwd: t.dir,
  });
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, /pruned 3 events \(seq 1\.\.3\) before 2026-01-01T00:03:00\.000Z/);
  const after = await runCli(["audit", "verify"], { env, cwd: t.dir });
  assert.equal(after.code, 0, after.stdout + after.stderr);
  assert.match(after.stdout, /audit chain ok: 4 events checked; head seq 7/);

  await dropAuditTriggers(t.db);
  await sql`UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 5`.execute(t.db);
  const id = (await t.db.selectFrom("audit_events").select("id").where("seq", "=", 5)
    .executeTakeFirstOrThrow()).id;
  const broken = await runCli(["audit", "verify"], { env, cwd: t.dir });
  assert.equal(broken.code, 1);
  assert.match(broken.stdout, new RegExp(`BROKEN at seq 5 \\(id ${id}\\): hash does not match`));
});

Deno.test("citadel audit export writes JSON lines and formula-safe CSV", async () => {
  await using t = await openAuditTestDb();
  await appendEvents(t, 2);
  await recordAudit(t.db, { ...loginFailed(3), userAgent: '=HYPERLINK("http://evil","x"),y' }, {
    clock: t.clock,
  });
  const env = cliEnv(t.path);

  const jsonl = await runCli(["audit", "export", "--since", "2026-01-01T00:01:00Z"], {
    env,
    cwd: t.dir,
  });
  assert.equal(jsonl.code, 0, jsonl.stderr);
  const lines = jsonl.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.seq), [2, 3]);
  assert.equal(lines[0].occurred_at, "2026-01-01T00:01:00.000Z");
  assert.deepEqual(lines[0].details, { reason: "bad_password" });

  const csv = await runCli(["audit", "export", "--format", "csv"], { env, cwd: t.dir });
  assert.equal(csv.code, 0, csv.stderr);
  const rows = csv.stdout.split("\r\n");
  assert.ok(rows[0].startsWith("seq,id,occurred_at,actor_type,actor_id,action"));
  assert.equal(rows.length, 5); // header, 3 events, empty after the final CRLF
  assert.ok(rows[3].includes(`"'=HYPERLINK(""http://evil"",""x""),y"`), rows[3]);
  assert.ok(rows[3].includes(`"{""reason"":""bad_password""}"`), rows[3]);

  const bad = await runCli(["audit", "export", "--format", "xml"], { env, cwd: t.dir });
  assert.equal(bad.code, 2);
  const unknown = await runCli(["audit", "rewrite"], { env, cwd: t.dir });
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /usage: citadel audit verify/);
});
