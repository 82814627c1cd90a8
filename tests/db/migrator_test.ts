import assert from "node:assert/strict";
import { sql } from "kysely";
import { migrations } from "../../migrations/mod.ts";
import { connect } from "../../src/db/connect.ts";
import {
  migrateUp,
  MigrationChecksumError,
  migrationStatus,
  pendingMigrations,
  tableNames,
} from "../../src/db/migrator.ts";

Deno.test("migrateUp() applies every migration once and records it", async () => {
  const { db } = await connect({ databaseUrl: ":memory:" });
  try {
    assert.equal((await pendingMigrations(db)).length, migrations.length);
    const applied = await migrateUp(db);
    assert.deepEqual(applied, migrations.map(([name]) => name));
    assert.deepEqual(await migrateUp(db), []);
    assert.deepEqual(await pendingMigrations(db), []);
    const tables = await tableNames(db);
    for (const table of ["users", "sessions", "refresh_tokens", "citadel_migrations"]) {
      assert.ok(tables.includes(table), `${table} exists`);
    }
    const statuses = await migrationStatus(db);
    assert.ok(statuses.every((s) => s.applied && s.checksumOk && s.appliedAt! > 0));
  } finally {
    await db.destroy();
  }
});

Deno.test("migrateUp() refuses to run when an applied migration was changed", async () => {
  const { db } = await connect({ databaseUrl: ":memory:" });
  try {
    await migrateUp(db);
    await sql`UPDATE citadel_migrations SET checksum = 'tampered' WHERE name = '0001_users'`
      .execute(db);
    await assert.rejects(() => migrateUp(db), (error: unknown) => {
      assert.ok(error instanceof MigrationChecksumError);
      assert.deepEqual(error.names, ["0001_users"]);
      return true;
    });
    const status = await migrationStatus(db);
    assert.equal(status.find((s) => s.name === "0001_users")?.checksumOk, false);
  } finally {
    await db.destroy();
  }
});

Deno.test("migrateUp() rolls a failing migration back completely", async () => {
  const { db } = await connect({ databaseUrl: ":memory:" });
  try {
    const broken = [
      ...migrations,
      ["9999_broken", {
        // deno-lint-ignore no-explicit-any
        async up(trx: any) {
          await sql`CREATE TABLE half_done (x)`.execute(trx);
          await sql`SELECT * FROM no_such_table`.execute(trx);
        },
      }],
    ] as const;
    await assert.rejects(() => migrateUp(db, { migrations: broken }));
    assert.ok(!(await tableNames(db)).includes("half_done"));
    const status = await migrationStatus(db, broken);
    assert.equal(status.find((s) => s.name === "9999_broken")?.applied, false);
  } finally {
    await db.destroy();
  }
});
