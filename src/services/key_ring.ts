/**
 * The asymmetric key ring every process signs and verifies with (JWT_ALGORITHM=EdDSA or
 * ES256): the active rows of `signing_keys`, each proven against its encrypted private key,
 * as imported Web Crypto keys and as the JWKS, refreshed from the database so a rotation or
 * retirement by any process (or `citadel keys`) holds everywhere within a second.
 */
import {
  type AsymmetricAlgorithm,
  importPrivateKey,
  importPublicKey,
  jwkThumbprint,
  publicHalfOf,
  type PublicJwk,
  publicMembers,
  SIGNATURE_PARAMS,
} from "../lib/signing_algorithms.ts";
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
  jwks: PublicJwk[];
}

/** A `signing_keys` row whose public key, kid and encrypted private key do not belong together. */
export class SigningKeyMismatch extends Error {
  constructor(kid: string, what: string) {
    super(
      `Signing key ${kid}: ${what}. The signing_keys table was changed outside citadel; ` +
        "retire the row (`citadel keys retire`) or restore the database",
    );
    this.name = "SigningKeyMismatch";
  }
}

/**
 * The published JWK of a row, once proven to belong to the row's encrypted private key and
 * named by its own thumbprint: whoever can write to the database but lacks ENCRYPTION_KEY
 * cannot plant a public key that citadel (or a verifier reading the JWKS) would trust.
 */
async function provenPublicJwk(
  row: SigningKeyRow,
  pkcs8: string,
  algorithm: AsymmetricAlgorithm,
): Promise<PublicJwk> {
  const stored = publicMembers(publicJwkOf(row));
  const half = await publicHalfOf(algorithm, pkcs8);
  if (stored.alg !== algorithm || stored.use !== "sig" || stored.kid !== row.kid) {
    throw new SigningKeyMismatch(row.kid, "the stored JWK names another key or algorithm");
  }
  if (
    half.kty !== stored.kty || half.crv !== stored.crv || half.x !== stored.x || half.y !== stored.y
  ) {
    throw new SigningKeyMismatch(row.kid, "the public key is not the private key's");
  }
  if (await jwkThumbprint(half) !== row.kid) {
    throw new SigningKeyMismatch(row.kid, "the kid is not the key's thumbprint");
  }
  return stored;
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

  /** Imports the rows' keys, each proven against its own encrypted private key. */
  async function build(rows: SigningKeyRow[], fingerprint: string): Promise<Loaded> {
    const current = rows.find((r) => r.state === "current");
    if (!current) throw new Error("No current signing key after ensureCurrent");
    const params = SIGNATURE_PARAMS[algorithm];
    const verifiers = new Map<string, VerificationKey>();
    const jwks: PublicJwk[] = [];
    let signingKey: CryptoKey | undefined;
    for (const row of rows) {
      const pkcs8 = await keys.privateKeyOf(row);
      const jwk = await provenPublicJwk(row, pkcs8, algorithm);
      jwks.push(jwk);
      verifiers.set(headerOf(algorithm, row.kid), {
        key: await importPublicKey(algorithm, jwk),
        params,
      });
      if (row === current) signingKey = await importPrivateKey(algorithm, pkcs8);
    }
    const signer = { header: headerOf(algorithm, current.kid), key: signingKey!, params };
    return { fingerprint, set: { version: ++version, signer, verifiers }, jwks };
  }

  async function load(): Promise<Loaded> {
    const started = clock.now();
    let rows = await activeRows(started);
    if (!rows.some((r) => r.state === "current")) {
      await keys.ensureCurrent(algorithm);
      rows = await activeRows(started);
    }
    // Everything a key is made of: a row changed in any way is proven again.
    const fingerprint = rows.map((r) => `${r.kid}:${r.state}:${r.public_jwk}:${r.private_key}`)
      .join(",");
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
      // Signing happens inside transactions, which hold the local database's one
      // connection: waiting for it here would deadlock, so a caller that skipped
      // `jwt.prepare()` fails loudly instead.
      if (!loaded) throw new Error("The key ring is not loaded: call jwt.prepare() first");
      if (clock.now() - refreshedAt > refreshAfter) void refresh().catch(() => {});
      return loaded.set;
    },
    // Refreshed for every answer, not from a cache 0.8 s old: a verifier that meets an
    // unknown kid refetches once and then waits out a cooldown, so the JWKS must show a key
    // as soon as any process has created it. Concurrent requests share one refresh (one
    // small query; keys are imported again only when the rows changed).
    async jwks() {
      return (await refresh()).jwks;
    },
    invalidate() {
      refreshedAt = -Infinity;
    },
  };
}
