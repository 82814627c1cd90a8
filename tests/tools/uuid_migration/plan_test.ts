import assert from "node:assert/strict";
import { introspect } from "../../../src/tools/uuid_migration/introspect.ts";
import { parseMapSpec, PlanError, planMigration } from "../../../src/tools/uuid_migration/plan.ts";
import { tempDir } from "../../support/helpers.ts";
import { createLegacyDb, open } from "../../support/legacy_db.ts";

async function legacySchema(extraSql = "") {
  await using dir = await tempDir();
  const path = `${dir.path}/legacy.db`;
  await createLegacyDb(path, { users: 4, extraSql });
  const client = open(path);
  try {
    return await introspect(client);
  } finally {
    client.close();
  }
}

Deno.test("planMigration() converts integer keys, follows references and leaves other tables", async () => {
  const plan = planMigration(await legacySchema(), {
    maps: [parseMapSpec("audit_events.user_id=users")],
  });
  assert.deepEqual(plan.convert.map((t) => t.name).sort(), [
    "audit_events",
    "employees",
    "posts",
    "users",
  ]);
  assert.deepEqual(plan.rebuild.map((p) => p.table.name).sort(), [
    "audit_events",
    "employees",
    "post_tags",
    "posts",
    "users",
  ]);
  const edges = plan.edges.map((e) =>
    `${e.table}.${e.column}->${e.parentTable}.${e.parentColumn} ${e.kind} ${e.onDelete ?? ""}`
  ).sort();
  assert.deepEqual(edges, [
    "audit_events.user_id->users.id mapped ",
    "employees.manager_id->employees.id declared NO ACTION",
    "employees.user_id->users.id declared SET NULL",
    "post_tags.post_id->posts.id declared CASCADE",
    "posts.author_id->users.id declared CASCADE",
  ]);
  assert.equal(plan.warnings.length, 0);
});

Deno.test("planMigration() points at undeclared references that were not mapped", async () => {
  const plan = planMigration(await legacySchema());
  assert.ok(
    plan.warnings.some((w) => w.includes("--map audit_events.user_id=users")),
    plan.warnings.join("\n"),
  );
});

Deno.test("planMigration() gives a 1:1 table the UUID of the row its key references", async () => {
  const plan = planMigration(
    await legacySchema(
      "CREATE TABLE profiles (user_id INTEGER PRIMARY KEY REFERENCES users(id), bio TEXT);",
    ),
  );
  const profiles = plan.rebuild.find((p) => p.table.name === "profiles")!;
  assert.equal(profiles.convertKey, undefined);
  assert.deepEqual(profiles.references, [{ column: "user_id", root: "users" }]);
});

Deno.test("planMigration() refuses --map targets and --tables that do not fit", async () => {
  const schema = await legacySchema();
  assert.throws(
    () => planMigration(schema, { maps: [parseMapSpec("audit_events.nope=users")] }),
    PlanError,
  );
  assert.throws(
    () => planMigration(schema, { maps: [parseMapSpec("audit_events.user_id=users.email")] }),
    /not the table's single-column primary key/,
  );
  assert.throws(() => planMigration(schema, { tables: ["post_tags"] }), /no single-column/);
  assert.throws(() => planMigration(schema, { tables: ["nope"] }), /does not exist/);
  assert.throws(() => parseMapSpec("user_id=users"), /Invalid --map/);
});

Deno.test("planMigration() with --tables converts only those and rewrites their references", async () => {
  const plan = planMigration(await legacySchema(), { tables: ["users"] });
  assert.deepEqual(plan.convert.map((t) => t.name), ["users"]);
  const rebuilt = Object.fromEntries(
    plan.rebuild.map((p) => [p.table.name, p.references.map((r) => r.column)]),
  );
  assert.deepEqual(rebuilt, { users: [], posts: ["author_id"], employees: ["user_id"] });
});

Deno.test("planMigration() refuses to touch a citadel database unless tables are named", async () => {
  const schema = await legacySchema(
    "CREATE TABLE citadel_migrations (name TEXT PRIMARY KEY, checksum TEXT, applied_at INTEGER);",
  );
  assert.throws(() => planMigration(schema), /This is a citadel database/);
  assert.deepEqual(planMigration(schema, { tables: ["users"] }).convert.map((t) => t.name), [
    "users",
  ]);
});
