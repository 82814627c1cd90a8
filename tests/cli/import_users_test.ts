import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { createClient } from "@libsql/client/node";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { buildTestApp, request } from "../helpers.ts";
import { cliDb, seedUser } from "./cli_db.ts";

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
      /legacy id 4 <ALICE@example.com>: duplicate email \(same as legacy id 1\)/,
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
