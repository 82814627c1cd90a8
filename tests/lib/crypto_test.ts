import assert from "node:assert/strict";
import { fromBase64Url, toBase64Url } from "../../src/lib/crypto.ts";

const decodes = (text: string) => {
  try {
    return toBase64Url(fromBase64Url(text));
  } catch {
    return "refused";
  }
};

Deno.test("fromBase64Url() accepts only the canonical unpadded text toBase64Url writes", () => {
  const cases: Array<[string, string]> = [
    ["", ""],
    ["AA", "AA"], // 1 byte: 4 unused bits, all zero
    ["AAA", "AAA"], // 2 bytes: 2 unused bits, all zero
    ["AAAA", "AAAA"],
    ["_-8", "_-8"],
    ["AB", "refused"], // unused bit 0 set
    ["AQ", "AQ"],
    ["AI", "refused"], // unused bit 3 set
    ["AAB", "refused"],
    ["AAC", "refused"], // unused bit 1 set
    ["A", "refused"], // a length of 1 mod 4 holds no whole byte
    ["AAAAA", "refused"],
    ["AA==", "refused"], // padding is not written, so not read
    ["A+/A", "refused"], // plain base64 alphabet
    ["AA AA", "refused"],
  ];
  for (const [text, expected] of cases) assert.equal(decodes(text), expected, text);
  for (let n = 0; n < 40; n++) {
    const bytes = crypto.getRandomValues(new Uint8Array(n));
    assert.deepEqual(fromBase64Url(toBase64Url(bytes)), bytes);
  }
});
