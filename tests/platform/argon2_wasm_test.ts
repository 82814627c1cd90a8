import assert from "node:assert/strict";
import { nativeArgon2 } from "../../src/platform/argon2_native.ts";
import { wasmArgon2 } from "../../src/platform/argon2_wasm.ts";
import { argon2ParamsOf } from "../../src/platform/password_hasher.ts";

const CASES = [
  { name: "cheap test cost", params: { memoryKib: 1024, timeCost: 1, parallelism: 1 } },
  { name: "two lanes", params: { memoryKib: 2048, timeCost: 2, parallelism: 2 } },
];
const PASSWORDS = ["Vq7$kR2#pL9m", "pässwörd ünïcode 🔑 long enough"];
// Same shape as @node-rs/argon2: 16-byte salt (22 base64 chars), 32-byte tag (43).
const SHAPE = /^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

for (const { name, params } of CASES) {
  Deno.test(`wasmArgon2() and nativeArgon2() verify each other's hashes (${name})`, async () => {
    const wasm = wasmArgon2(params);
    const native = nativeArgon2(params);
    for (const password of PASSWORDS) {
      const fromWasm = await wasm.hash(password);
      const fromNative = await native.hash(password);
      assert.match(fromWasm, SHAPE);
      assert.match(fromNative, SHAPE);
      assert.deepEqual(argon2ParamsOf(fromWasm), params);
      assert.equal(await native.verify(fromWasm, password), true, "native verifies wasm");
      assert.equal(await wasm.verify(fromNative, password), true, "wasm verifies native");
      assert.equal(await wasm.verify(fromWasm, password), true);
      assert.equal(await native.verify(fromWasm, password + "x"), false);
      assert.equal(await wasm.verify(fromNative, password + "x"), false);
    }
  });
}

Deno.test("wasmArgon2() salts every hash, so one password never hashes the same twice", async () => {
  const wasm = wasmArgon2(CASES[0].params);
  assert.notEqual(await wasm.hash("same password"), await wasm.hash("same password"));
});

Deno.test("wasmArgon2().verify() answers false for anything but an argon2id PHC string", async () => {
  const params = CASES[0].params;
  const wasm = wasmArgon2(params);
  const good = await nativeArgon2(params).hash("password");
  const tag = good.slice(good.lastIndexOf("$") + 1);
  const flipped = good.slice(0, -tag.length) + (tag[0] === "A" ? "B" : "A") + tag.slice(1);
  for (
    const stored of [
      "",
      "plain text",
      good.replace("$argon2id$", "$argon2i$"),
      good.replace("v=19", "v=16"),
      good.slice(0, -1) + "!",
      flipped,
      "$2b$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01",
    ]
  ) {
    assert.equal(await wasm.verify(stored, "password"), false, stored);
  }
  assert.equal(await wasm.verify(good, "password"), true);
});
