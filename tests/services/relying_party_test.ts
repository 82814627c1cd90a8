/**
 * relyingPartyResolver (issue 20): the RP ID and origins from PUBLIC_URL and WEBAUTHN_*, the
 * request's own origin only as the development fallback, and nothing in production without
 * settings.
 */
import assert from "node:assert/strict";
import {
  relyingPartyResolver,
  type RelyingPartySettings,
} from "../../src/services/relying_party.ts";

const base: RelyingPartySettings = { rpName: "citadel", origins: [], fromRequest: true };
const REQUEST = "http://localhost:8000";

Deno.test("relyingPartyResolver(): PUBLIC_URL alone gives its host as RP ID and its origin as the one origin, whatever origin the request came in at", () => {
  const resolve = relyingPartyResolver({ ...base, publicUrl: "https://auth.example.com/base/" });
  for (const origin of [REQUEST, "https://evil.example"]) {
    assert.deepEqual(resolve(origin), {
      id: "auth.example.com",
      name: "citadel",
      origins: ["https://auth.example.com"],
    });
  }
  const withPort = relyingPartyResolver({ ...base, publicUrl: "https://auth.example.com:8443" });
  assert.deepEqual(withPort(REQUEST), {
    id: "auth.example.com",
    name: "citadel",
    origins: ["https://auth.example.com:8443"],
  });
});

Deno.test("relyingPartyResolver(): WEBAUTHN_RP_ID and WEBAUTHN_ORIGINS, with or without PUBLIC_URL, its origin first and none twice", () => {
  const cases: Array<[string, Partial<RelyingPartySettings>, string[]]> = [
    ["without PUBLIC_URL", {}, ["https://app.example.com", "https://auth.example.com"]],
    ["with PUBLIC_URL among them", { publicUrl: "https://auth.example.com" }, [
      "https://auth.example.com",
      "https://app.example.com",
    ]],
  ];
  for (const [what, extra, origins] of cases) {
    const resolve = relyingPartyResolver({
      ...base,
      rpId: "example.com",
      rpName: "Example",
      origins: ["https://app.example.com", "https://auth.example.com"],
      ...extra,
    });
    assert.deepEqual(resolve(REQUEST), { id: "example.com", name: "Example", origins }, what);
  }
});

Deno.test("relyingPartyResolver(): without settings the request's own origin stands in only when fromRequest (outside production)", () => {
  const development = relyingPartyResolver(base);
  assert.deepEqual(development(REQUEST), {
    id: "localhost",
    name: "citadel",
    origins: [REQUEST],
  });
  assert.deepEqual(development("https://citadel.internal:9443"), {
    id: "citadel.internal",
    name: "citadel",
    origins: ["https://citadel.internal:9443"],
  });
  const production = relyingPartyResolver({ ...base, fromRequest: false });
  assert.equal(production(REQUEST), undefined);
  assert.equal(production("https://auth.example.com"), undefined);
  // Configured, production has its relying party.
  const configured = relyingPartyResolver({
    ...base,
    fromRequest: false,
    publicUrl: "https://auth.example.com",
  });
  assert.equal(configured(REQUEST)?.id, "auth.example.com");
});
