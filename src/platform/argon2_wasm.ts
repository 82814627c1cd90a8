/**
 * The edge password hasher: argon2id in WebAssembly (hash-wasm), producing the same PHC
 * strings as the native one.
 */
import { argon2id } from "hash-wasm";
import { type Argon2Params, argon2ParamsOf, type PasswordHasher } from "./password_hasher.ts";

/** Salt and tag lengths of @node-rs/argon2's defaults, so both write the same PHC shape. */
const SALT_BYTES = 16;
const HASH_BYTES = 32;
const PHC = /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** Decodes unpadded standard base64, as PHC strings carry it. */
function decodeBase64(text: string): Uint8Array {
  const binary = atob(text + "=".repeat((4 - (text.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

/**
 * argon2id in WebAssembly (hash-wasm) for Deno Deploy and Cloudflare Workers. It writes
 * the same `$argon2id$v=19$m=..,t=..,p=..$salt$hash` strings as the native hasher, so
 * hashes move freely between targets. It runs on the calling thread: each hash costs
 * the configured memory and CPU time inside the request.
 */
export function wasmArgon2(params: Argon2Params): PasswordHasher {
  return {
    params,
    hash: (password) =>
      argon2id({
        password,
        salt: crypto.getRandomValues(new Uint8Array(SALT_BYTES)),
        parallelism: params.parallelism,
        iterations: params.timeCost,
        memorySize: params.memoryKib,
        hashLength: HASH_BYTES,
        outputType: "encoded",
      }),
    async verify(phc, password) {
      // Recomputed here instead of argon2Verify(), which compares the tags as strings
      // with an early exit; this compares the bytes in constant time.
      const match = PHC.exec(phc);
      const stored = argon2ParamsOf(phc);
      if (!match || !stored) return false;
      try {
        const expected = decodeBase64(match[2]);
        const actual = await argon2id({
          password,
          salt: decodeBase64(match[1]),
          parallelism: stored.parallelism,
          iterations: stored.timeCost,
          memorySize: stored.memoryKib,
          hashLength: expected.length,
          outputType: "binary",
        });
        return constantTimeEqual(actual, expected);
      } catch {
        return false;
      }
    },
  };
}
