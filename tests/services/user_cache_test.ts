import assert from "node:assert/strict";
import { connect } from "../../src/db/connect.ts";
import { migrateUp } from "../../src/db/migrator.ts";
import { insertUser } from "../../src/db/users_repo.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { createUserCache } from "../../src/services/user_cache.ts";

async function setup() {
  const { db } = await connect({ databaseUrl: ":memory:" });
  await migrateUp(db);
  const clock = new ManualClock();
  const user = await insertUser(db, {
    email: "cache@example.com",
    passwordHash: "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
    name: "Before",
  }, clock.now());
  const rename = (name: string) =>
    db.updateTable("users").set({ name }).where("id", "=", user.id).execute();
  return { db, clock, user, rename };
}

Deno.test("get() reuses a read for ttlMs, then reads again: another process's change shows within it", async () => {
  const { db, clock, user, rename } = await setup();
  try {
    const cache = createUserCache({ db, clock, ttlMs: 1000 });
    assert.equal((await cache.get(user.id))?.name, "Before");
    await rename("After"); // as another process would
    clock.advance(999);
    assert.equal((await cache.get(user.id))?.name, "Before", "still within the ttl");
    clock.advance(1);
    assert.equal((await cache.get(user.id))?.name, "After");
  } finally {
    await db.destroy();
  }
});

Deno.test("forget() makes this process's own change visible on the next get()", async () => {
  const { db, clock, user, rename } = await setup();
  try {
    const cache = createUserCache({ db, clock });
    assert.equal((await cache.get(user.id))?.name, "Before");
    await rename("After");
    cache.forget(user.id);
    assert.equal((await cache.get(user.id))?.name, "After");
  } finally {
    await db.destroy();
  }
});

Deno.test("get() shares one read between concurrent callers and answers undefined for no such user", async () => {
  const { db, clock, user } = await setup();
  try {
    const cache = createUserCache({ db, clock });
    const [a, b] = await Promise.all([cache.get(user.id), cache.get(user.id)]);
    assert.ok(a !== undefined && a === b, "one row object for both");
    assert.equal(await cache.get(crypto.randomUUID()), undefined);
  } finally {
    await db.destroy();
  }
});

Deno.test("get() keeps at most `limit` users, dropping the oldest read", async () => {
  const { db, clock, user, rename } = await setup();
  try {
    const cache = createUserCache({ db, clock, limit: 2 });
    await cache.get(user.id);
    await rename("After");
    await cache.get(crypto.randomUUID());
    await cache.get(crypto.randomUUID()); // evicts the first entry
    assert.equal((await cache.get(user.id))?.name, "After", "read again after eviction");
  } finally {
    await db.destroy();
  }
});
