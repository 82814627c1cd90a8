import assert from "node:assert/strict";
import { createClient } from "@libsql/client/node";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { insertUser } from "../../src/db/users_repo.ts";
import { tempDir } from "../support/helpers.ts";

const EMAIL = "plaintext-canary@example.com";

async function fileContains(path: string, needle: string): Promise<boolean> {
  const bytes = await Deno.readFile(path);
  return new TextDecoder("latin1").decode(bytes).includes(needle);
}

async function allFilesOf(path: string): Promise<string[]> {
  const files = [path];
  for (const suffix of ["-wal", "-shm"]) {
    try {
      await Deno.stat(path + suffix);
      files.push(path + suffix);
    } catch { /* absent */ }
  }
  return files;
}

for (const encrypted of [true, false]) {
  Deno.test(
    `a file database ${encrypted ? "with" : "without"} DATABASE_ENCRYPTION_KEY ${
      encrypted ? "hides" : "shows"
    } stored emails`,
    async () => {
      await using dir = await tempDir();
      const path = `${dir.path}/data/citadel.db`;
      const options = {
        databaseUrl: `file:${path}`,
        databaseEncryptionKey: encrypted ? "correct horse battery staple 42" : undefined,
      };
      const { db } = await connect(options);
      await migrateUp(db);
      await insertUser(db, { email: EMAIL, passwordHash: "$argon2id$x" }, Date.now());
      await db.destroy();

      let seen = false;
      for (const file of await allFilesOf(path)) seen ||= await fileContains(file, EMAIL);
      assert.equal(seen, !encrypted);
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(`${dir.path}/data`)).mode! & 0o777, 0o700);

      if (encrypted) {
        const plain = createClient({ url: `file:${path}` });
        await assert.rejects(() => plain.execute("SELECT email FROM users"));
        plain.close();
        const wrong = createClient({ url: `file:${path}`, encryptionKey: "wrong key" });
        await assert.rejects(() => wrong.execute("SELECT email FROM users"));
        wrong.close();
        const { db: again } = await connect(options);
        const row = await again.selectFrom("users").select("email").executeTakeFirstOrThrow();
        assert.equal(row.email, EMAIL);
        await again.destroy();
      }
    },
  );
}
