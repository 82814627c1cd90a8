/**
 * The binary's password hasher: argon2id through the @node-rs/argon2 native addon.
 */
import { hash, verify } from "@node-rs/argon2";
import type { Argon2Params, PasswordHasher } from "./password_hasher.ts";

/** argon2id through the @node-rs/argon2 native addon, off the main thread. */
export function nativeArgon2(params: Argon2Params): PasswordHasher {
  const options = {
    algorithm: 2 as const, // Algorithm.Argon2id; a const enum cannot be imported under isolatedModules
    memoryCost: params.memoryKib,
    timeCost: params.timeCost,
    parallelism: params.parallelism,
  };
  return {
    params,
    hash: (password) => hash(password, options),
    async verify(phc, password) {
      try {
        return await verify(phc, password);
      } catch {
        return false;
      }
    },
  };
}
