/**
 * One thread of {@linkcode argon2Pool}: runs argon2id hashes and verifications through
 * the native addon synchronously, one at a time, off the main thread.
 */
import { hashSync, verifySync } from "@node-rs/argon2";
import type { Argon2Job, Argon2Reply } from "./argon2_pool.ts";

const scope = self as unknown as {
  postMessage(message: Argon2Reply): void;
  onmessage: ((event: MessageEvent<Argon2Job>) => void) | null;
};

scope.onmessage = ({ data: job }) => {
  try {
    if (job.op === "hash") {
      scope.postMessage({ id: job.id, value: hashSync(job.password, job.options) });
    } else {
      let ok = false;
      try {
        ok = verifySync(job.phc, job.password);
      } catch { /* a malformed stored hash verifies nothing */ }
      scope.postMessage({ id: job.id, value: ok });
    }
  } catch (error) {
    scope.postMessage({
      id: job.id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
};
