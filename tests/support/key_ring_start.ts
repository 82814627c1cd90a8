/**
 * A process that starts a key ring over a migrated database file, as every `serve` does:
 * `key_ring_start.ts <db file> <JWT_ALGORITHM> <ENCRYPTION_KEY>`. Prints "ready", waits for
 * a line on stdin (so several processes start together), loads the ring (creating the
 * first key if there is none), signs a token and prints `kid <kid>`.
 */
import { connect } from "../../src/db/connect.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { memoryCounterStore } from "../../src/platform/counter_store_memory.ts";
import { createLogger } from "../../src/platform/logger.ts";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { createAlerter } from "../../src/services/alerts.ts";
import { createServices } from "../../src/services/container.ts";
import { testConfig } from "./helpers.ts";

const [path, algorithm, encryptionKey] = Deno.args;
const config = testConfig({
  DATABASE_URL: `file:${path}`,
  JWT_ALGORITHM: algorithm,
  ENCRYPTION_KEY: encryptionKey,
});
const { db } = await connect(config);
const logger = createLogger({ level: "error", sinks: [] });
const services = createServices({
  config,
  db,
  clock: systemClock,
  hasher: nativeArgon2(config.argon2),
  counters: memoryCounterStore(systemClock),
  alerts: createAlerter({ logger, clock: systemClock }),
});
console.log("ready");
await Deno.stdin.readable.getReader().read();
await services.jwt.prepare();
const now = Math.floor(Date.now() / 1000);
const token = await services.jwt.sign({
  sub: crypto.randomUUID(),
  sid: crypto.randomUUID(),
  jti: "race",
  iat: now,
  exp: now + 60,
  role: "user",
});
const header = JSON.parse(atob(token.split(".")[0].replaceAll("-", "+").replaceAll("_", "/")));
console.log(`kid ${header.kid}`);
await logger.close();
await db.destroy();
