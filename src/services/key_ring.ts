/**
 * The asymmetric key ring every process signs and verifies with (JWT_ALGORITHM=EdDSA or
 * ES256): the active rows of `signing_keys` as imported Web Crypto keys and as the JWKS,
 * refreshed from the database so a rotation or retirement by any process (or `citadel
 * keys`) holds everywhere within a second.
 */
import type { AsymmetricAlgorithm, PublicJwk } from "../lib/signing_algorithms.ts";
import { importPrivateKey, importPublicKey, SIGNATURE_PARAMS } from "../lib/signing_algorithms.ts";
import type { Clock } from "../platform/clock.ts";
import { headerOf, type KeySet, type KeySource, type VerificationKey } from "./jwt.ts";
import { publicJwkOf, type SigningKeyRow, type SigningKeys } from "./signing_keys.ts";

/** Options of {@linkcode createKeyRing}. */
export interface KeyRingOptions {
  keys: SigningKeys;
  clock: Clock;
  algorithm: AsymmetricAlgorithm;
  /** After this long the ring is refreshed in the background on the next use. */
  refreshAfterMs?: number;
  /** After this long a use waits for a refresh: the bound on cross-process staleness. */
  maxStalenessMs?: number;
}

/** The key source of the JWT service plus the published public keys. */
export interface KeyRing extends KeySource {
  /** The public JWK of every key that verifies now or soon (next, current, previous). */
  jwks(): Promise<PublicJwk[]>;
  /** Makes the next use read the database: this process just changed the keys. */
  invalidate(): void;
}

interface Loaded {
  fingerprint: string;
  set: KeySet;
}

/**
 * Builds the ring. Each refresh is one small query; the keys are imported (and the current
 * private key decrypted) only when the rows changed. Only keys of the configured algorithm
 * verify: a token whose header names any other algorithm finds no key.
 */
export function createKeyRing(options: KeyRingOptions): KeyRing {
  const { keys, clock, algorithm } = options;
  const refreshAfter = options.refreshAfterMs ?? 400;
  const maxStaleness = options.maxStalenessMs ?? 800;
  let loaded: Loaded | undefined;
  let version = 0;
  let refreshedAt = -Infinity;
  let inFlight: Promise<Loaded> | undefined;

  async function build(rows: SigningKeyRow[], fingerprint: string): Promise<Loaded> {
    const current = rows.find((r) => r.state === "current");
    if (!current) throw new Error("No current signing key after ensureCurrent");
    const verifiers = new Map<string, VerificationKey>();
    for (const row of rows) {
      verifiers.set(headerOf(algorithm, row.kid), {
        key: await importPublicKey(algorithm, publicJwkOf(row)),
        params: SIGNATURE_PARAMS[algorithm],
      });
    }
    const signer = {
      header: headerOf(algorithm, current.kid),
      key: await importPrivateKey(algorithm, await keys.privateKeyOf(current)),
      params: SIGNATURE_PARAMS[algorithm],
    };
    return { fingerprint, set: { version: ++version, signer, verifiers } };
  }

  async function load(): Promise<Loaded> {
    const started = clock.now();
    let rows = await activeRows(started);
    if (!rows.some((r) => r.state === "current")) {
      await keys.ensureCurrent(algorithm);
      rows = await activeRows(started);
    }
    const fingerprint = rows.map((r) => `${r.kid}:${r.state}`).join(",");
    if (loaded?.fingerprint !== fingerprint) loaded = await build(rows, fingerprint);
    refreshedAt = started;
    return loaded;
  }

  const activeRows = async (now: number) =>
    (await keys.active(now)).filter((r) => r.algorithm === algorithm);

  const refresh = () => {
    inFlight ??= load().finally(() => inFlight = undefined);
    return inFlight;
  };

  /** The loaded keys when fresh enough, without a promise: this is the hot path. */
  const fresh = (): Loaded | Promise<Loaded> => {
    const age = clock.now() - refreshedAt;
    if (!loaded || age > maxStaleness) return refresh();
    if (age > refreshAfter) void refresh().catch(() => {});
    return loaded;
  };

  return {
    current() {
      const now = fresh();
      return now instanceof Promise ? now.then((l) => l.set) : now.set;
    },
    forSigning() {
      if (!loaded) return refresh().then((l) => l.set);
      if (clock.now() - refreshedAt > refreshAfter) void refresh().catch(() => {});
      return loaded.set;
    },
    // Read from the database every time, never from this process's cache: a verifier that
    // meets an unknown kid refetches once and then waits out a cooldown, so the JWKS must
    // show a key the moment any process has created it.
    async jwks() {
      await fresh();
      return (await activeRows(clock.now())).map(publicJwkOf);
    },
    invalidate() {
      refreshedAt = -Infinity;
    },
  };
}
