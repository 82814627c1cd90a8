/**
 * Times one argon2id verification with the given parameters through the same native
 * hasher the server uses, one at a time; prints the median in ms as JSON. `deno task
 * bench` runs it pinned to the server's core to derive the login throughput ceiling.
 *
 *   deno run --allow-read --allow-env --allow-ffi --allow-sys scripts/bench/argon2_probe.ts \
 *     <memoryKib> <timeCost> <parallelism> [samples]
 */
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";

const [memoryKib, timeCost, parallelism, samples = 15] = Deno.args.map(Number);
const hasher = nativeArgon2({ memoryKib, timeCost, parallelism });
const phc = await hasher.hash("correct horse battery staple 42!");
await hasher.verify(phc, "warm-up");
const times: number[] = [];
for (let i = 0; i < samples; i++) {
  const t0 = performance.now();
  if (!await hasher.verify(phc, "correct horse battery staple 42!")) {
    throw new Error("verification failed");
  }
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ medianMs: times[Math.floor(times.length / 2)], samples }));
