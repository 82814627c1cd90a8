import type { Logger } from "../../src/platform/logger.ts";

/** Real-looking secrets; none of these strings may reach any log or the audit log. */
export const SECRETS = {
  jwt: "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
    "eyJzdWIiOiIzZjJjOGU2Yi0xYTJiLTRjNWQtOGU5Zi0wYTFiMmMzZDRlNWYiLCJleHAiOjE3OTk5OTk5OTl9." +
    "Qm9ZcXJ1dE5wS0hNd0xhVjR4c3lQRGZqR2hUbWlFb1k",
  apiKey: "ctd_7sK2pQ9xLm4vB8nR3tY6wZ1aD5fG0hJ2kL4mN6pQ8rS1uV3xW5z",
  opaqueBearer: "9f8e7d6c5b4a39281706f5e4d3c2b1a0ffeeddccbbaa9988",
  dbPassword: "Sup3r-S3cret-DbPass",
  redisPassword: "R3disPassw0rd-x9",
  tursoToken: "tursoTokenAbc123def456ghi789",
  password: "correct horse battery staple 42!",
  refreshToken: "rt-Zq8XwV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8cB7aZ6yX5",
  sessionCookie: "sess-4b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e",
  oauthCode: "oac-77aa88bb99cc00dd11ee22ff",
  queryToken: "qtok-5e6f7a8b9c0d1e2f3a4b5c6d",
  basicCredentials: "YWRtaW46aHVudGVyMi1zdXBlcnNlY3JldA==",
  webhookSecret: "whsec-0a1b2c3d4e5f6a7b8c9d0e1f",
  recoveryCode: "q7m2-x4kd-9pzt",
  mfaToken: "mfa-Hq3Lw8Zt5Rb2Vn7Kx4Cp9Jd6",
  totpSeed: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
} as const;

export const SECRET_VALUES: string[] = Object.values(SECRETS);

/** Text a careless caller might log: headers, URLs and errors with secrets inside. */
export const SECRET_TEXT = [
  `Authorization: Bearer ${SECRETS.jwt}`,
  `retrying with Bearer ${SECRETS.opaqueBearer}`,
  `got key ${SECRETS.apiKey} from the client`,
  `connect failed: postgres://citadel:${SECRETS.dbPassword}@db.internal:5432/citadel`,
  `cache at redis://:${SECRETS.redisPassword}@cache.internal:6379/0`,
  `remote db libsql://db.turso.io?authToken=${SECRETS.tursoToken}`,
  `GET /oauth/callback?code=${SECRETS.oauthCode}&state=xyz`,
  `GET /download?token=${SECRETS.queryToken}&file=report.pdf`,
  `Cookie: refresh_token=${SECRETS.refreshToken}; sid=${SECRETS.sessionCookie}`,
  `upstream said Basic ${SECRETS.basicCredentials}`,
  `POST /api/v1/auth/mfa?recovery_code=${SECRETS.recoveryCode}&mfa_token=${SECRETS.mfaToken}`,
].join("\n");

/** Structured fields a careless caller might log. */
export function secretFields(): Record<string, unknown> {
  return {
    password: SECRETS.password,
    new_password: SECRETS.password,
    refresh_token: SECRETS.refreshToken,
    access_token: SECRETS.jwt,
    api_key: SECRETS.apiKey,
    apiKey: SECRETS.apiKey,
    client_secret: SECRETS.webhookSecret,
    recovery_code: SECRETS.recoveryCode,
    recovery_codes: [SECRETS.recoveryCode],
    mfa_token: SECRETS.mfaToken,
    secret: SECRETS.totpSeed,
    signingKey: SECRETS.webhookSecret,
    headers: {
      authorization: `Bearer ${SECRETS.jwt}`,
      cookie: `sid=${SECRETS.sessionCookie}`,
      "set-cookie": `refresh_token=${SECRETS.refreshToken}; HttpOnly; Secure`,
      "x-api-key": SECRETS.apiKey,
      "user-agent": "corpus-agent/1.0",
    },
    raw_headers: new Headers({
      Authorization: `Basic ${SECRETS.basicCredentials}`,
      Cookie: `sid=${SECRETS.sessionCookie}`,
      "X-API-Key": SECRETS.apiKey,
    }),
    header_pairs: [["cookie", `sid=${SECRETS.sessionCookie}`], ["accept", "application/json"]],
    database: { url: `postgres://citadel:${SECRETS.dbPassword}@db.internal:5432/citadel` },
    error: new Error(
      `call to https://svc:${SECRETS.dbPassword}@upstream.internal failed; token=${SECRETS.queryToken}`,
    ),
    note: SECRET_TEXT,
  };
}

/** Logs the whole corpus at every level through a logger. */
export function logCorpus(logger: Logger): void {
  logger.info(`corpus message ${SECRET_TEXT}`, secretFields());
  logger.warn("corpus warning", { detail: SECRET_TEXT, body: { password: SECRETS.password } });
  logger.error(`corpus error ${SECRETS.apiKey}`, { error: new Error(SECRET_TEXT) });
}

/** The secrets found in a text; an empty list means the text is clean. */
export function leakedSecrets(text: string): string[] {
  return SECRET_VALUES.filter((secret) => text.includes(secret));
}
