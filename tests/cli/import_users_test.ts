import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { createClient } from "@libsql/client/node";
import { sql } from "kysely";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { buildTestApp, request, runCli, tempDir, TEST_SECRET } from "../support/helpers.ts";
import { createLegacyDb, open } from "../support/legacy_db.ts";
import { MAP, migrate } from "../support/migration_checks.ts";
import { cliDb, seedUser } from "../support/cli_db.ts";

const PASSWORDS = {
  alice: "alice-legacy-pass-1",
  bob: "bob-legacy-pass-2",
  carol: "carol-legacy-pass-3",
};

/** A legacy `accounts` table with bcrypt ($2b$, $2y$) and argon2 hashes and bad rows. */
async function legacySource(path: string): Promise<Record<string, string>> {
  const hashes = {
    alice: bcrypt.hashSync(PASSWORDS.alice, 4),
    bob: bcrypt.hashSync(PASSWORDS.bob, 4).replace(/^\$2b\$/, "$2y$"),
    carol: await nativeArgon2({ memoryKib: 1024, timeCost: 1, parallelism: 1 }).hash(
      PASSWORDS.carol,
    ),
  };
  const client = createClient({ url: `file:${path}` });
  await client.execute(
    "CREATE TABLE accounts (uid INTEGER PRIMARY KEY, mail TEXT, pw TEXT, full_name TEXT)",
  );
  const rows: [number, string | null, string, string][] = [
    [1, " Alice@Example.com ", hashes.alice, "Alice"],
    [2, "bob@example.com", hashes.bob, "Bob"],
    [3, "carol@example.com", hashes.carol, "Carol"],
    [4, "ALICE@example.com", hashes.bob, "Alice again"],
    [5, "not-an-email", hashes.alice, "Nobody"],
    [6, "dave@example.com", "5f4dcc3b5aa765d61d8327deb882cf99", "Dave (md5)"],
    [7, null, hashes.alice, "No email"],
    [8, "existing@example.com", hashes.alice, "Already here"],
  ];
  for (const args of rows) {
    await client.execute({ sql: "INSERT INTO accounts VALUES (?, ?, ?, ?)", args });
  }
  client.close();
  return hashes;
}

const ARGS = (from: string) => [
  "migrate",
  "import-users",
  "--from",
  from,
  "--table",
  "accounts",
  "--email-column",
  "mail",
  "--password-column",
  "pw",
  "--id-column",
  "uid",
  "--name-column",
  "full_name",
];

Deno.test("import-users reports every rejected row, imports the rest and keeps hashes as they are", async () => {
  await using cli = await cliDb();
  const from = `${cli.dir}/legacy.db`;
  const hashes = await legacySource(from);
  await seedUser(cli.db, "existing@example.com");

  const dry = await cli.run([...ARGS(from), "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /dry run: would import 3 of 8 users \(bcrypt 2, argon2 1\); 5 rejected/);
  assert.equal((await cli.db.selectFrom("users").selectAll().execute()).length, 1);

  const run = await cli.run(ARGS(from));
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /imported 3 of 8 users \(bcrypt 2, argon2 1\); 5 rejected/);
  for (
    const line of [
      /legacy id 4 <ALICE@example.com>: duplicate email \(legacy id 1, the lowest id with this email, is kept\)/,
      /legacy id 5 <not-an-email>: invalid email/,
      /legacy id 6 <dave@example.com>: unsupported password hash/,
      /legacy id 7 <>: missing email/,
      /legacy id 8 <existing@example.com>: email already exists in citadel/,
    ]
  ) assert.match(run.stdout, line);

  const users = await cli.db.selectFrom("users").selectAll().where(
    "email",
    "!=",
    "existing@example.com",
  )
    .orderBy("email").execute();
  assert.deepEqual(users.map((u) => [u.email, u.name, u.role, u.status, u.password_hash]), [
    ["alice@example.com", "Alice", "user", "active", hashes.alice],
    ["bob@example.com", "Bob", "user", "active", hashes.bob],
    ["carol@example.com", "Carol", "user", "active", hashes.carol],
  ]);
  for (const u of users) assert.equal(u.created_at, u.updated_at);
  const map = await cli.run([...ARGS(from)]);
  assert.match(map.stdout, /imported 0 of 8 users/);
  assert.equal((map.stdout.match(/legacy id already imported/g) ?? []).length, 3);
});

Deno.test("import-users: imported bcrypt and argon2 users can log in", async () => {
  await using cli = await cliDb();
  const from = `${cli.dir}/legacy.db`;
  await legacySource(from);
  assert.equal((await cli.run(ARGS(from))).code, 0);
  const test = await buildTestApp({ DATABASE_URL: cli.env.DATABASE_URL });
  try {
    for (const [name, password] of Object.entries(PASSWORDS)) {
      const ok = await request(test.app, "POST", "/api/v1/auth/login", {
        body: { email: `${name}@example.com`, password },
      });
      assert.equal(ok.status, 200, `${name}: ${await ok.clone().text()}`);
      const body = await ok.json();
      assert.equal(typeof body.access_token, "string");
      assert.equal(body.user.email, `${name}@example.com`);
    }
    const wrong = await request(test.app, "POST", "/api/v1/auth/login", {
      body: { email: "alice@example.com", password: "not-alices-password" },
    });
    assert.equal(wrong.status, 401);
    // The legacy bcrypt hash is replaced by argon2id at that first login.
    const alice = await cli.db.selectFrom("users").select("password_hash")
      .where("email", "=", "alice@example.com").executeTakeFirstOrThrow();
    assert.match(alice.password_hash, /^\$argon2id\$/);
  } finally {
    await test.close();
  }
});

Deno.test("import-users after migrate uuid records the original integer ids and keeps the lowest id of each duplicate email", async () => {
  await using cli = await cliDb();
  const hash = `$2b$04$${"a".repeat(53)}`;
  // Users 6, 9, 12, 15 and 18 (u2..u6), plus three whose emails repeat theirs once normalised.
  await createLegacyDb(`${cli.dir}/legacy.db`, {
    users: 6,
    extraSql: `
      ALTER TABLE users ADD COLUMN password_hash TEXT;
      INSERT INTO users (id, email, name) VALUES
        (1, ' U4@example.com', 'Four, first'), (2, 'U5@EXAMPLE.COM ', 'Five, first'),
        (100, 'u2@example.com ', 'Two, later');
      UPDATE users SET password_hash = '${hash}';
    `,
  });
  const converted = await migrate(cli.dir, [...MAP, "--yes"]);
  assert.equal(converted.code, 0, converted.stderr);

  const run = await cli.run([
    "migrate",
    "import-users",
    ...["--from", `${cli.dir}/legacy.db`, "--table", "users", "--email-column", "email"],
    ...["--password-column", "password_hash", "--id-column", "id", "--name-column", "name"],
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /legacy ids: users was converted by migrate uuid; its original integer/);
  assert.match(run.stdout, /imported 5 of 8 users/);
  const kept = (id: number) => `(legacy id ${id}, the lowest id with this email, is kept)`;
  for (
    const line of [
      `legacy id 12 <u4@example.com>: duplicate email ${kept(1)}`,
      `legacy id 15 <u5@example.com>: duplicate email ${kept(2)}`,
      `legacy id 100 <u2@example.com >: duplicate email ${kept(6)}`,
    ]
  ) assert.ok(run.stdout.includes(line), run.stdout);
  const ids = await sql<{ legacy_id: unknown; name: string }>`
    SELECT m.legacy_id, u.name FROM legacy_id_map AS m JOIN users AS u ON u.id = m.uuid
    ORDER BY m.legacy_id
  `.execute(cli.db);
  assert.deepEqual(ids.rows.map((r) => [r.legacy_id, r.name]), [
    [1, "Four, first"],
    [2, "Five, first"],
    [6, "User 2"],
    [9, "User 3"],
    [18, "User 6"],
  ]);
});

Deno.test("import-users --dry-run creates no database and names the database it could not use", async () => {
  await using dir = await tempDir();
  const from = `${dir.path}/legacy.db`;
  await legacySource(from);
  const env = { APP_ENV: "test", JWT_SECRET_KEY: TEST_SECRET };
  const missing = await runCli([...ARGS(from), "--dry-run"], { env, cwd: dir.path });
  assert.equal(missing.code, 1, missing.stdout);
  assert.match(
    missing.stderr,
    /citadel database \.\/data\/citadel\.db \(DATABASE_URL\) does not exist/,
  );
  assert.equal(await Deno.stat(`${dir.path}/data`).catch(() => null), null, "nothing was created");

  const empty = open(`${dir.path}/empty.db`);
  await empty.execute("CREATE TABLE unrelated (x)");
  empty.close();
  const unmigrated = await runCli([...ARGS(from), "--dry-run"], {
    env: { ...env, DATABASE_URL: `file:${dir.path}/empty.db` },
    cwd: dir.path,
  });
  assert.equal(unmigrated.code, 1);
  assert.ok(
    unmigrated.stderr.includes(`database ${dir.path}/empty.db has no users table yet`),
    unmigrated.stderr,
  );
});
