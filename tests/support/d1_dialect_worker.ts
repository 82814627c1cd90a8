/**
 * A Worker that exercises src/db/d1_dialect.ts against the real D1 it is bound to (local
 * D1 in Miniflare). `GET /<scenario>` runs one scenario on a fresh table and answers
 * what it observed as JSON; tests/db/d1_dialect_test.ts asserts on it.
 */
import { Kysely, sql } from "kysely";
import { d1Database } from "../../src/db/d1_database.ts";
import { type D1DatabaseLike, d1Dialect } from "../../src/db/d1_dialect.ts";

interface Items {
  items: { id: number; label: string };
}
type Db = Kysely<Items>;
let dbBinding: D1DatabaseLike | undefined;

async function labels(db: Db): Promise<string[]> {
  const rows = await db.selectFrom("items").select("label").orderBy("id").execute();
  return rows.map((r) => r.label);
}

async function failure(work: () => Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await work();
    return { name: "none", message: "" };
  } catch (error) {
    const e = error as Error;
    return { name: e.name, message: e.message };
  }
}

/** Each transaction reads the highest id and inserts the next: a conflict when concurrent. */
function appendNext(db: Db, label: string) {
  return db.transaction().execute(async (trx) => {
    const row = await trx.selectFrom("items").select((eb) => eb.fn.max("id").as("top"))
      .executeTakeFirst();
    await trx.insertInto("items").values({ id: Number(row?.top ?? 0) + 1, label }).execute();
  });
}

const SCENARIOS: Record<string, (db: Db, binding: D1DatabaseLike) => Promise<unknown>> = {
  async commit(db) {
    let seenDuring: string[] = [];
    await db.transaction().execute(async (trx) => {
      await trx.insertInto("items").values({ id: 1, label: "a" }).execute();
      await trx.insertInto("items").values({ id: 2, label: "b" }).execute();
      seenDuring = await labels(db);
    });
    return { seenDuring, after: await labels(db) };
  },
  async throwInside(db) {
    const error = await failure(() =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto("items").values({ id: 1, label: "a" }).execute();
        throw new Error("business rule said no");
      })
    );
    return { error, after: await labels(db) };
  },
  async constraintInBatch(db) {
    await db.insertInto("items").values({ id: 1, label: "existing" }).execute();
    const error = await failure(() =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto("items").values({ id: 2, label: "new" }).execute();
        await trx.insertInto("items").values({ id: 1, label: "duplicate" }).execute();
      })
    );
    return { error, after: await labels(db) };
  },
  async readBeforeWrite(db) {
    await db.insertInto("items").values({ id: 1, label: "a" }).execute();
    const read = await db.transaction().execute(async (trx) => {
      const before = await labels(trx);
      await trx.insertInto("items").values({ id: 2, label: "b" }).execute();
      return before;
    });
    return { read, after: await labels(db) };
  },
  async readAfterWrite(db) {
    const error = await failure(() =>
      db.transaction().execute(async (trx) => {
        await trx.insertInto("items").values({ id: 1, label: "a" }).execute();
        await labels(trx);
      })
    );
    return { error, after: await labels(db) };
  },
  async returningInside(db) {
    const error = await failure(() =>
      db.transaction().execute((trx) =>
        trx.insertInto("items").values({ id: 1, label: "a" }).returning("id").execute()
      )
    );
    return { error, after: await labels(db) };
  },
  async concurrentRetried(_db, binding) {
    // Two separate Kysely instances, as two isolates would have: no shared turnstile.
    const [one, two] = [d1Database<Items>(binding), d1Database<Items>(binding)];
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => appendNext(i % 2 ? one : two, `t${i}`)),
    );
    const ids = (await one.selectFrom("items").select("id").orderBy("id").execute()).map((r) =>
      r.id
    );
    return { rejected: results.filter((r) => r.status === "rejected").length, ids };
  },
  async concurrentWithoutRetry(db) {
    const other = new Kysely<Items>({ dialect: d1Dialect(dbBinding!) });
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => appendNext(i % 2 ? db : other, `t${i}`)),
    );
    return {
      conflicts:
        results.filter((r) => r.status === "rejected" && r.reason.name === "D1CommitConflict")
          .length,
    };
  },
  async outside(db) {
    const inserted = await db.insertInto("items").values([{ id: 1, label: "a" }, {
      id: 2,
      label: "b",
    }]).returning(["id", "label"]).execute();
    const updated = await db.updateTable("items").set({ label: "z" }).execute();
    const deleted = await db.deleteFrom("items").where("id", "=", 1).executeTakeFirst();
    return {
      inserted,
      updated: Number(updated[0].numUpdatedRows),
      deleted: Number(deleted.numDeletedRows),
      after: await labels(db),
    };
  },
};

export default {
  async fetch(request: Request, env: { DB: D1DatabaseLike }): Promise<Response> {
    const scenario = SCENARIOS[new URL(request.url).pathname.slice(1)];
    if (!scenario) return new Response("unknown scenario", { status: 404 });
    dbBinding = env.DB;
    const db: Db = new Kysely<Items>({ dialect: d1Dialect(env.DB) });
    await sql`DROP TABLE IF EXISTS items`.execute(db);
    await sql`CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)`.execute(db);
    return Response.json(await scenario(db, env.DB));
  },
};
