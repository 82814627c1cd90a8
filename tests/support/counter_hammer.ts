/**
 * Child process of the cross-process test: hits one counter `n` times on a database file
 * through its own connection and prints the counts it was given, as JSON.
 * Usage: deno run ... counter_hammer.ts <database-url> <key> <n> <start-at-epoch-ms>
 */
import { connect } from "../../src/db/connect.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { databaseCounterStore } from "../../src/platform/counter_store_database.ts";

const [url, key, n, startAt] = Deno.args;
const { db } = await connect({ databaseUrl: url });
const store = databaseCounterStore(db, systemClock);
// Both processes start hitting at the same moment, whatever their start-up times.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
const counts: number[] = [];
// Several hits in flight at once, as a busy server would have.
for (let done = 0; done < Number(n); done += 10) {
  const batch = await Promise.all(Array.from({ length: 10 }, () => store.hit(key, 3_600_000)));
  counts.push(...batch.map((hit) => hit.count));
}
await db.destroy();
console.log(JSON.stringify(counts));
