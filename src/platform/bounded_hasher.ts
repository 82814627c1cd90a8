/**
 * A password hasher wrapper that runs at most a fixed number of hashes at once, to bound
 * memory and keep each hash fast under bursts.
 */
import type { PasswordHasher } from "./password_hasher.ts";

/**
 * Lets at most `max` hashes or verifications of `hasher` run at once; the others wait
 * their turn in order. The native addon starts every call on its own thread at once,
 * so a burst of logins would hash many 19 MiB buffers side by side: more memory, and
 * more CPU per hash as they evict each other from the caches. One per core is as fast
 * and bounds the memory.
 */
export function boundedHasher(hasher: PasswordHasher, max: number): PasswordHasher {
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError("boundedHasher() needs max to be a positive whole number");
  }
  let running = 0;
  const waiting: Array<() => void> = [];
  async function run<T>(work: () => Promise<T>): Promise<T> {
    if (running < max) running++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line, so `running` stays exact.
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  }
  return {
    params: hasher.params,
    hash: (password) => run(() => hasher.hash(password)),
    verify: (phc, password) => run(() => hasher.verify(phc, password)),
  };
}
