import assert from "node:assert/strict";
import { verifyAuditChain } from "../../src/services/audit_verify.ts";
import { DENO, RUN_PERMISSIONS } from "../support/helpers.ts";
import { openAuditTestDb } from "../support/audit_test_db.ts";

const SCRIPT = new URL("../support/append_events.ts", import.meta.url).pathname;
const EACH = 200;

function startWriter(path: string, label: string) {
  const child = new Deno.Command(DENO, {
    args: ["run", ...RUN_PERMISSIONS, SCRIPT, path, String(EACH), label],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  return {
    async ready() {
      let seen = "";
      while (!seen.includes("ready")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`writer ${label} exited before it was ready`);
        seen += value;
      }
    },
    async go() {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("go\n"));
      await writer.close();
    },
    async finish() {
      while (!(await lines.read()).done) { /* drain "done" */ }
      const [status, stderr] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      assert.equal(status.code, 0, `writer ${label} failed: ${stderr}`);
    },
  };
}

Deno.test("two processes appending 200 events each keep one valid chain", async () => {
  await using t = await openAuditTestDb();
  const writers = [startWriter(t.path, "alpha"), startWriter(t.path, "beta")];
  await Promise.all(writers.map((w) => w.ready()));
  await Promise.all(writers.map((w) => w.go()));
  await Promise.all(writers.map((w) => w.finish()));

  const result = await verifyAuditChain(t.db);
  assert.equal(result.ok, true, JSON.stringify(result.firstBroken));
  assert.equal(result.checked, 2 * EACH);
  const rows = await t.db.selectFrom("audit_events").select(["seq", "actor_id"])
    .orderBy("seq").execute();
  assert.deepEqual(rows.map((r) => r.seq), Array.from({ length: 2 * EACH }, (_, i) => i + 1));
  assert.equal(rows.filter((r) => r.actor_id === "alpha").length, EACH);
  assert.equal(rows.filter((r) => r.actor_id === "beta").length, EACH);
  // The writers really overlapped: the chain switches between them many times.
  const switches = rows.filter((r, i) => i > 0 && r.actor_id !== rows[i - 1].actor_id).length;
  assert.ok(switches > 10, `writers did not interleave (${switches} switches)`);
});
