import assert from "node:assert/strict";
import { canonicalJson } from "../../src/lib/canonical_json.ts";

Deno.test("canonicalJson() sorts keys at every depth and leaves out whitespace", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: "x" } }),
    '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
  );
});

Deno.test("canonicalJson() gives one form whatever order fields were built in", () => {
  const one = { id: "1", seq: 2, details: { reason: "r", method: "password" } };
  const two = { details: { method: "password", reason: "r" }, seq: 2, id: "1" };
  assert.equal(canonicalJson(one), canonicalJson(two));
});

Deno.test("canonicalJson() drops undefined members and escapes strings like JSON", () => {
  assert.equal(canonicalJson({ a: undefined, b: 'q"\n\u2028' }), '{"b":"q\\"\\n\u2028"}');
  assert.equal(canonicalJson([undefined, 1]), "[null,1]");
});

Deno.test("canonicalJson() refuses values JSON cannot represent exactly", () => {
  assert.throws(() => canonicalJson({ n: NaN }), TypeError);
  assert.throws(() => canonicalJson({ n: Infinity }), TypeError);
  assert.throws(() => canonicalJson({ n: 1n }), TypeError);
});
