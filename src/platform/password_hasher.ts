/**
 * What a password hasher is (argon2id PHC strings), OWASP's minimum parameters, and when a
 * stored hash needs rehashing.
 * @module
 */

/** argon2id cost parameters. */
export interface Argon2Params {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

/**
 * Hashes and verifies argon2id PHC strings. Implemented natively for the binary and in
 * WebAssembly for Deno Deploy and Workers; both read and write the same PHC format.
 */
export interface PasswordHasher {
  readonly params: Argon2Params;
  hash(password: string): Promise<string>;
  verify(phc: string, password: string): Promise<boolean>;
}

/** OWASP's minimum argon2id parameters (m=19456 KiB, t=2, p=1). */
export const OWASP_ARGON2: Argon2Params = { memoryKib: 19_456, timeCost: 2, parallelism: 1 };

/** Reads m, t and p from an argon2id PHC string; undefined for anything else. */
export function argon2ParamsOf(phc: string): Argon2Params | undefined {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (!match) return undefined;
  return { memoryKib: Number(match[1]), timeCost: Number(match[2]), parallelism: Number(match[3]) };
}

/** True when a stored hash is not argon2id or is weaker than the wanted parameters. */
export function needsRehash(phc: string, wanted: Argon2Params): boolean {
  const stored = argon2ParamsOf(phc);
  if (!stored) return true;
  return stored.memoryKib < wanted.memoryKib || stored.timeCost < wanted.timeCost ||
    stored.parallelism < wanted.parallelism;
}
