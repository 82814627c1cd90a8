/**
 * Times argon2id verification with the given parameters through the same native hasher
 * the server uses: the median of one verification at a time, and the throughput of one
 * verification per CPU this process may use running side by side (memory-hard hashing
 * does not scale perfectly with cores: they share caches and memory bandwidth). Prints
 * JSON. `deno task bench` runs it pinned to the server's core and on all cores to
 * derive the login throughput ceilings.
 *
 *   deno run --allow-read --allow-env --allow-ffi --allow-sys scripts/bench/argon2_probe.ts \
 *     <memoryKib> <timeCost> <parallelism> [samples]
 */
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";

const [memoryKib, timeCost, parallelism, samples = 15] = Deno.args.map(Number);
const hasher = nativeArgon2({ memoryKib, timeCost, parallelism });
const password = "correct horse battery staple 42!";
const phc = await hasher.hash(password);
await hasher.verify(phc, "warm-up");

async function verifyOne(): Promise<void> {
  if (!await hasher.verify(phc, password)) throw new Error("verification failed");
}

const times: number[] = [];
for (let i = 0; i < samples; i++) {
  const t0 = performance.now();
  await verifyOne();
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);

const threads = navigator.hardwareConcurrency || 1;
const rounds = Math.max(10, Math.ceil(samples / threads));
await Promise.all(Array.from({ length: threads }, verifyOne)); // start every thread
const started = performance.now();
for (let round = 0; round < rounds; round++) {
  await Promise.all(Array.from({ length: threads }, verifyOne));
}
const perSecond = rounds * threads / ((performance.now() - started) / 1000);

console.log(JSON.stringify({
  medianMs: times[Math.floor(times.length / 2)],
  samples,
  threads,
  parallelPerSecond: perSecond,
}));
