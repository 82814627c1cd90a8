/**
 * Key management as `citadel keys` and `/api/v1/admin/keys` offer it, one implementation for
 * both: list the signing keys, rotate, retire. With HS256 the keys are the configured
 * secrets, which only the configuration rotates.
 */
import type { Db } from "../db/schema.ts";
import { problem } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";
import type { AuditActor } from "./audit_events.ts";
import { hs256KeyId } from "./jwt.ts";
import type { KeyRing } from "./key_ring.ts";
import {
  type RotateOutcome,
  type SigningKeys,
  type SigningKeyView,
  signingKeyView,
} from "./signing_keys.ts";

/** What {@linkcode createKeyAdmin} needs; `Config["jwt"]` fits. */
export interface KeyAdminSettings {
  algorithm: "HS256" | "EdDSA" | "ES256";
  secret: string;
  previousSecret?: string;
}

/** A rotation as shown: what happened and the keys it touched. */
export interface RotationView {
  action: RotateOutcome["action"];
  current?: SigningKeyView;
  previous?: SigningKeyView;
  next: SigningKeyView;
}

const inConfiguration = () =>
  problem("keys_in_configuration", {
    detail: "JWT_ALGORITHM is HS256: the signing key is JWT_SECRET_KEY. Rotate it by moving " +
      "it to JWT_SECRET_KEY_PREVIOUS and setting a new JWT_SECRET_KEY (see README, key " +
      "rotation), or switch to EdDSA or ES256",
  });

/** Builds key management over the signing-key store and this process's key ring. */
export function createKeyAdmin(
  settings: KeyAdminSettings,
  deps: { db: Db; clock: Clock; signingKeys: SigningKeys; keyRing: KeyRing | undefined },
) {
  const { db, clock, signingKeys, keyRing } = deps;
  const { algorithm } = settings;
  /** The asymmetric algorithm, after making sure its first key exists. */
  const ready = async () => {
    if (algorithm === "HS256") throw inConfiguration();
    await keyRing?.current();
    return algorithm;
  };

  /**
   * Records when JWT_SECRET_KEY first signed (by key id, never the secret), once, so `check`
   * can tell how long JWT_SECRET_KEY_PREVIOUS has been unnecessary.
   */
  async function recordHs256Secret(): Promise<void> {
    await db.insertInto("hs256_secrets")
      .values({ kid: await hs256KeyId(settings.secret), first_signed_at: clock.now() })
      .onConflict((oc) => oc.column("kid").doNothing()).execute();
  }

  return {
    algorithm,

    /**
     * What a server does with its keys as it starts (`serve`, once, before any worker; the
     * edge entries, per isolate): with HS256 it records the secret's first signing; with
     * EdDSA or ES256 it makes a key of that algorithm current (switching from another
     * algorithm is allowed only here) and loads the ring, which proves every key against its
     * encrypted private key.
     */
    async start(): Promise<void> {
      if (algorithm === "HS256") return await recordHs256Secret();
      await signingKeys.ensureCurrent(algorithm, { switchAlgorithm: true });
      await keyRing!.current();
    },

    /** Every key, newest first; with HS256 the current and previous secrets' key ids. */
    async list(): Promise<SigningKeyView[]> {
      if (algorithm === "HS256") {
        const secrets = [[settings.secret, "current"], [settings.previousSecret, "previous"]];
        const views: SigningKeyView[] = [];
        for (const [secret, state] of secrets) {
          if (!secret) continue;
          const kid = await hs256KeyId(secret);
          const seen = await db.selectFrom("hs256_secrets").select("first_signed_at")
            .where("kid", "=", kid).executeTakeFirst();
          const firstSigned = seen ? new Date(seen.first_signed_at).toISOString() : null;
          views.push({
            kid,
            algorithm: "HS256",
            state: state!,
            created_at: null,
            activated_at: firstSigned,
            expires_at: null,
            retired_at: null,
          });
        }
        return views;
      }
      // Read as stored: listing switches and decrypts nothing; on a new database it creates
      // the first key, as the first start of `serve` would.
      let rows = await signingKeys.list();
      if (rows.length === 0) {
        await signingKeys.ensureCurrent(algorithm);
        rows = await signingKeys.list();
      }
      return rows.map(signingKeyView);
    },

    /** See SigningKeys.rotate; 409 `keys_in_configuration` with HS256. */
    async rotate(options: { force?: boolean }, actor: AuditActor): Promise<RotationView> {
      const outcome = await signingKeys.rotate(await ready(), options, actor);
      keyRing?.invalidate();
      return outcome.action === "published"
        ? { action: outcome.action, next: signingKeyView(outcome.next) }
        : {
          action: outcome.action,
          current: signingKeyView(outcome.current),
          previous: outcome.previous ? signingKeyView(outcome.previous) : undefined,
          next: signingKeyView(outcome.next),
        };
    },

    /** See SigningKeys.retire; 409 `keys_in_configuration` with HS256. */
    async retire(kid: string, actor: AuditActor): Promise<SigningKeyView> {
      await ready();
      const retired = await signingKeys.retire(kid, actor);
      keyRing?.invalidate();
      return signingKeyView(retired);
    },
  };
}

export type KeyAdmin = ReturnType<typeof createKeyAdmin>;
