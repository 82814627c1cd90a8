/**
 * A software WebAuthn authenticator for tests without a browser: a P-256 key pair, "none"
 * attestation, and assertions signed like a real authenticator (DER ECDSA over authenticator
 * data and the client data hash), with knobs an attacker would turn: another origin or RP ID,
 * a chosen counter, no user verification, someone else's credential id.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import { fromBase64Url, toBase64Url } from "../../src/lib/crypto.ts";

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

/** What an attacker (or a broken client) changes in a ceremony. */
export interface Tweaks {
  origin?: string;
  rpId?: string;
  /** The signature counter to report (default: one more than the last). */
  counter?: number;
  /** Leave the user-verified flag off. */
  unverified?: boolean;
  /** Answer this challenge instead of the options' one. */
  challenge?: string;
}

const sha256 = async (bytes: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** An ECDSA signature from WebCrypto (r || s) in the DER form WebAuthn carries. */
function derSignature(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let body: Uint8Array = bytes.slice(start);
    if (body[0] & 0x80) body = concat(new Uint8Array([0]), body);
    return concat(new Uint8Array([0x02, body.length]), body);
  };
  const body = concat(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

/** One software authenticator holding one credential. */
export class SoftAuthenticator {
  counter = 0;
  /** The user handle the registration options carried (base64url). */
  userHandle?: string;

  private constructor(
    private readonly keys: CryptoKeyPair,
    public credentialId: Uint8Array,
    readonly origin: string,
  ) {}

  /** A new authenticator for ceremonies at `origin` (its host is the RP ID by default). */
  static async create(origin = "http://localhost"): Promise<SoftAuthenticator> {
    const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    return new SoftAuthenticator(keys, crypto.getRandomValues(new Uint8Array(32)), origin);
  }

  /** The credential id as the API names it (base64url). */
  get id(): string {
    return toBase64Url(this.credentialId);
  }

  private clientData(type: string, challenge: string, tweaks: Tweaks): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({
      type,
      challenge,
      origin: tweaks.origin ?? this.origin,
      crossOrigin: false,
    }));
  }

  private async rpIdHash(rpId: string): Promise<Uint8Array> {
    return await sha256(new TextEncoder().encode(rpId));
  }

  /** Answers registration options: a "none" attestation of this credential. */
  async register(
    options: PublicKeyCredentialCreationOptionsJSON,
    tweaks: Tweaks = {},
  ): Promise<RegistrationResponseJSON> {
    this.userHandle = options.user.id;
    const jwk = await crypto.subtle.exportKey("jwk", this.keys.publicKey);
    const coseKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, fromBase64Url(jwk.x!)],
        [-3, fromBase64Url(jwk.y!)],
      ]),
    );
    const flags = UP | AT | (tweaks.unverified ? 0 : UV);
    const authData = concat(
      await this.rpIdHash(tweaks.rpId ?? options.rp.id ?? new URL(this.origin).hostname),
      new Uint8Array([flags]),
      uint32(this.counter),
      new Uint8Array(16),
      new Uint8Array([this.credentialId.length >> 8, this.credentialId.length & 0xff]),
      this.credentialId,
      coseKey,
    );
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([["fmt", "none"], ["attStmt", new Map()], [
        "authData",
        authData,
      ]]) as Map<string, never>,
    );
    const clientDataJSON = this.clientData(
      "webauthn.create",
      tweaks.challenge ?? options.challenge,
      tweaks,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      clientExtensionResults: {},
      response: {
        clientDataJSON: toBase64Url(clientDataJSON),
        attestationObject: toBase64Url(attestationObject),
        transports: ["internal"],
      },
    };
  }

  /** Answers assertion options, signing with this credential. */
  async assert(
    options: PublicKeyCredentialRequestOptionsJSON,
    tweaks: Tweaks = {},
  ): Promise<AuthenticationResponseJSON> {
    this.counter = tweaks.counter ?? this.counter + 1;
    const flags = UP | (tweaks.unverified ? 0 : UV);
    const authData = concat(
      await this.rpIdHash(tweaks.rpId ?? options.rpId ?? new URL(this.origin).hostname),
      new Uint8Array([flags]),
      uint32(this.counter),
    );
    const clientDataJSON = this.clientData(
      "webauthn.get",
      tweaks.challenge ?? options.challenge,
      tweaks,
    );
    const signed = concat(authData, await sha256(clientDataJSON));
    const raw = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        this.keys.privateKey,
        signed as Uint8Array<ArrayBuffer>,
      ),
    );
    return {
      id: this.id,
      rawId: this.id,
      type: "public-key",
      clientExtensionResults: {},
      response: {
        clientDataJSON: toBase64Url(clientDataJSON),
        authenticatorData: toBase64Url(authData),
        signature: toBase64Url(derSignature(raw)),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
    };
  }
}
