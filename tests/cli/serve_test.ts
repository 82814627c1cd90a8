import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { startServer, tempDir, TEST_SECRET } from "../support/helpers.ts";

const FAST = { ARGON2_MEMORY_KIB: "1024", ARGON2_TIME_COST: "1" };

Deno.test("serve started outside the repository answers /health on a loopback port", async () => {
  await using dir = await tempDir();
  const server = await startServer({ DATABASE_URL: `file:${dir.path}/x.db`, ...FAST }, {
    cwd: dir.path,
  });
  try {
    const res = await fetch(`${server.url}/health`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).database, "ok");
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
  const info = await Deno.stat(`${dir.path}/x.db`);
  assert.equal(info.mode! & 0o777, 0o600);
});

Deno.test("development without JWT_SECRET_KEY generates one with mode 600 and reuses it", async () => {
  await using dir = await tempDir();
  const env = { DATABASE_URL: `file:${dir.path}/data/c.db`, ...FAST };
  const first = await startServer(env, { cwd: dir.path });
  await first.stop();
  const secretFile = `${dir.path}/data/jwt_secret`;
  const secret = await Deno.readTextFile(secretFile);
  assert.ok(secret.trim().length >= 64);
  assert.equal((await Deno.stat(secretFile)).mode! & 0o777, 0o600);
  assert.ok(first.output.some((l) => /JWT_SECRET_KEY in .*jwt_secret/.test(l)));
  const second = await startServer(env, { cwd: dir.path });
  await second.stop();
  assert.equal(await Deno.readTextFile(secretFile), secret);
});

Deno.test("the generated super admin password is printed once, never logged, and never reset", async () => {
  await using dir = await tempDir();
  const env = { DATABASE_URL: `file:${dir.path}/c.db`, JWT_SECRET_KEY: TEST_SECRET, ...FAST };
  const first = await startServer(env, { cwd: dir.path });
  await first.stop();
  const announced = first.output.find((l) => l.startsWith("Generated super admin password"));
  assert.ok(announced, "the password was shown");
  const password = announced.split(": ")[1];
  assert.ok(!first.output.some((l) => l.startsWith("{") && l.includes(password)));

  const second = await startServer({ ...env, SUPER_ADMIN_PASSWORD: "Another-Pass-123!" }, {
    cwd: dir.path,
  });
  await second.stop();
  assert.ok(!second.output.some((l) => l.startsWith("Generated super admin password")));
  const { db } = await connect({ databaseUrl: env.DATABASE_URL });
  const admins = await db.selectFrom("users").select(["password_hash"]).where(
    "role",
    "=",
    "super_admin",
  )
    .execute();
  await db.destroy();
  assert.equal(admins.length, 1);
  assert.match(admins[0].password_hash, /^\$argon2id\$/);
});

Deno.test("SIGTERM lets an in-flight request finish before the server exits", async () => {
  await using dir = await tempDir();
  const server = await startServer({ DATABASE_URL: `file:${dir.path}/x.db`, ...FAST }, {
    cwd: dir.path,
  });
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(new TextEncoder().encode('{"slow":'));
      await gate;
      controller.enqueue(new TextEncoder().encode("true}"));
      controller.close();
    },
  });
  const inFlight = fetch(`${server.url}/health`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await new Promise((r) => setTimeout(r, 300));
  const stopping = server.stop("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  release();
  const res = await inFlight;
  assert.equal(res.status, 405, server.output.join("\n"));
  await res.body?.cancel();
  assert.equal((await stopping).code, 0);
  assert.ok(server.output.some((l) => l.includes('"msg":"stopped"')));
});
