import assert from "node:assert/strict";
import { tempDir } from "../support/helpers.ts";
import { buildWorker, ROOT, startMiniflare } from "../support/miniflare.ts";

const PROBE = `${ROOT}tests/support/d1_dialect_worker.ts`;

Deno.test("d1Dialect() on a real local D1 (Miniflare)", async (t) => {
  await using dir = await tempDir();
  await buildWorker(dir.path, { entry: PROBE, plain: true });
  const server = await startMiniflare(dir.path);
  const run = async (scenario: string) => {
    const response = await fetch(`${server.url}/${scenario}`);
    assert.equal(response.status, 200, await response.clone().text());
    return await response.json();
  };
  try {
    await t.step("a transaction's writes apply together at commit, not before", async () => {
      assert.deepEqual(await run("commit"), { seenDuring: [], after: ["a", "b"] });
    });

    await t.step("an error thrown inside a transaction leaves the database unchanged", async () => {
      const { error, after } = await run("throwInside");
      assert.equal(error.message, "business rule said no");
      assert.deepEqual(after, []);
    });

    await t.step(
      "a constraint failure at commit rolls back the transaction's earlier writes",
      async () => {
        const { error, after } = await run("constraintInBatch");
        assert.match(error.message, /UNIQUE constraint failed: items\.id/);
        assert.deepEqual(after, ["existing"]);
      },
    );

    await t.step("reads before the first write see committed rows", async () => {
      assert.deepEqual(await run("readBeforeWrite"), { read: ["a"], after: ["a", "b"] });
    });

    await t.step(
      "reading a table the transaction already wrote fails loudly and writes nothing",
      async () => {
        const { error, after } = await run("readAfterWrite");
        assert.equal(error.name, "D1TransactionError");
        assert.match(error.message, /cannot read table "items" after writing it/);
        assert.deepEqual(after, []);
      },
    );

    await t.step(
      "a write with RETURNING inside a transaction fails loudly and writes nothing",
      async () => {
        const { error, after } = await run("returningInside");
        assert.equal(error.name, "D1TransactionError");
        assert.deepEqual(after, []);
      },
    );

    await t.step(
      "without the retry, concurrent read-then-write transactions conflict at commit",
      async () => {
        const { conflicts } = await run("concurrentWithoutRetry");
        assert.ok(conflicts > 0, "the race is real, so the retry below is tested against it");
      },
    );

    await t.step(
      "d1Database() re-runs conflicting transactions on fresh reads until all commit",
      async () => {
        assert.deepEqual(await run("concurrentRetried"), {
          rejected: 0,
          ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        });
      },
    );

    await t.step("outside a transaction statements run at once with real results", async () => {
      assert.deepEqual(await run("outside"), {
        inserted: [{ id: 1, label: "a" }, { id: 2, label: "b" }],
        updated: 2,
        deleted: 1,
        after: ["z"],
      });
    });
  } finally {
    await server.stop();
  }
});
