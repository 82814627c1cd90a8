import assert from "node:assert/strict";
import { introspect } from "../../../src/tools/uuid_migration/introspect.ts";
import { planMigration } from "../../../src/tools/uuid_migration/plan.ts";
import { migrateToUuid, type ProgressEvent } from "../../../src/tools/uuid_migration/run.ts";
import { tempDir } from "../../support/helpers.ts";
import { open, pairs } from "../../support/legacy_db.ts";

const SCHEMA = `
CREATE TABLE users (id INTEGER PRIMARY KEY, handle TEXT NOT NULL);
CREATE TABLE profiles (user_id INTEGER PRIMARY KEY REFERENCES users(id), bio TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER REFERENCES users(id));
INSERT INTO users VALUES (1234567890123456789, 'snowflake'), (9007199254740993, 'past-2^53');
INSERT INTO profiles VALUES (1234567890123456789, 'hello');
INSERT INTO orders (id, user_id) VALUES (1, 9007199254740993), (500, 1234567890123456789);
DELETE FROM orders WHERE id = 500;
`;

Deno.test("migrateToUuid() keeps 64-bit legacy ids exact, 1:1 keys and AUTOINCREMENT counters", async () => {
  await using dir = await tempDir();
  const client = open(`${dir.path}/db.sqlite`);
  try {
    await client.executeMultiple(SCHEMA);
    const plan = planMigration(await introspect(client), { tables: ["users"] });
    const events: ProgressEvent[] = [];
    await migrateToUuid(client, plan, { onProgress: (e) => events.push(e) });

    assert.deepEqual(
      await pairs(
        client,
        `SELECT CAST(m.legacy_id AS TEXT), u.handle, p.bio FROM users u
         JOIN legacy_id_map m ON m.table_name = 'users' AND m.uuid = u.id
         LEFT JOIN profiles p ON p.user_id = u.id`,
      ),
      ['["1234567890123456789","snowflake","hello"]', '["9007199254740993","past-2^53",null]'],
    );
    const order = await client.execute(
      "SELECT o.id, u.handle FROM orders o JOIN users u ON u.id = o.user_id",
    );
    assert.deepEqual(order.rows.map((r) => [r.id, r.handle]), [[1, "past-2^53"]]);
    // orders kept its integer key, and AUTOINCREMENT still never reuses the deleted 500.
    await client.execute("INSERT INTO orders (user_id) VALUES (NULL)");
    const next = await client.execute("SELECT max(id) AS id FROM orders");
    assert.equal(next.rows[0].id, 501);
    assert.equal(events.at(-1)?.phase, "verify");
    assert.equal(events.at(-1)?.done, plan.totalRows);
  } finally {
    client.close();
  }
});
