// Appends audit events from a separate process: `append_events.ts <db file> <count> <label>`.
// Prints "ready", waits for a line on stdin, then writes, so two processes start together.
import { connect } from "../../src/db/connect.ts";
import { systemClock } from "../../src/platform/clock.ts";
import { recordAudit } from "../../src/services/audit.ts";

const [path, count, label] = Deno.args;
const { db } = await connect({ databaseUrl: `file:${path}` });
console.log("ready");
await Deno.stdin.readable.getReader().read();
for (let i = 0; i < Number(count); i++) {
  await recordAudit(db, {
    actorType: "system",
    actorId: label,
    action: "migration.applied",
    outcome: "success",
    requestId: `${label}-${i}`,
    details: { migration: `${label}-${i}` },
  }, { clock: systemClock });
  // Requests arrive with gaps; without one a writer re-takes the lock before the other wakes.
  await new Promise((resolve) => setTimeout(resolve, 1));
}
await db.destroy();
console.log("done");
