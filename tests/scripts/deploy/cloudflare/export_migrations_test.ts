import assert from "node:assert/strict";
import { migrations } from "../../../../migrations/mod.ts";
import {
  exportMigrations,
  inlineParameters,
} from "../../../../scripts/deploy/cloudflare/export_migrations.ts";
import { CLOUDFLARE } from "../../../support/miniflare.ts";

Deno.test("the committed D1 migration files match a fresh export of migrations/", async () => {
  const exported = await exportMigrations();
  assert.deepEqual([...exported.keys()], migrations.map(([name]) => name));
  for (const [name, sqlText] of exported) {
    const committed = await Deno.readTextFile(`${CLOUDFLARE}/migrations/${name}.sql`).catch(
      () => "(missing)",
    );
    assert.equal(
      committed,
      sqlText,
      `scripts/deploy/cloudflare/migrations/${name}.sql is stale: run ` +
        "`deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys " +
        "scripts/deploy/cloudflare/export_migrations.ts`",
    );
    assert.match(sqlText, new RegExp(`insert into "citadel_migrations" .*'${name}'`));
    // Statements are separated by blank lines; reads and transaction control are dropped.
    assert.doesNotMatch(sqlText, /\n\n(select|begin|commit|rollback)\b/i);
  }
});

Deno.test("inlineParameters() writes values as SQL literals and leaves quoted ? alone", () => {
  assert.equal(
    inlineParameters({
      sql: `insert into "t" ("a", "b", "c", "d") values (?, ?, ?, ?) -- '?'`,
      parameters: ["it's", 42, null, new Uint8Array([1, 255])],
    }),
    `insert into "t" ("a", "b", "c", "d") values ('it''s', 42, NULL, X'01ff') -- '?'`,
  );
  assert.throws(() => inlineParameters({ sql: "select ?, ?", parameters: [1] }), /Too few/);
});
