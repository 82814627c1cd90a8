import assert from "node:assert/strict";
import { isCommonPassword, loadCommonPasswords } from "../../src/services/common_passwords.ts";
import {
  checkPassword,
  normalizePassword,
  PASSWORD_MAX_LENGTH,
} from "../../src/services/password_policy.ts";
import { resemblances, substringDistance } from "../../src/services/password_similarity.ts";

const USER = { email: "alice.smith@example.com", name: "Alice Smith" };

async function codesOf(password: string, options = {}): Promise<string[]> {
  return (await checkPassword(password, { ...USER, ...options })).map((e) => e.code).sort();
}

// Each case breaks one rule; where a weak password necessarily breaks others too, they
// are listed, so the table shows exactly what a person would be told.
const VIOLATIONS: { why: string; password: string; codes: string[]; options?: object }[] = [
  { why: "is shorter than 12 characters", password: "Vq7$kR2#pL9", codes: ["password_too_short"] },
  {
    why: "is shorter than a configured minimum of 16",
    password: "Vq7$kR2#pL9m-4Xz",
    options: { minLength: 17 },
    codes: ["password_too_short"],
  },
  {
    why: "is longer than 1024 characters",
    password: "Vq7$kR2#pL9m".repeat(86),
    codes: ["password_too_long"],
  },
  {
    why: "has no upper-case letter",
    password: "vq7$kr2#pl9m",
    codes: ["password_missing_uppercase"],
  },
  {
    why: "has no lower-case letter",
    password: "VQ7$KR2#PL9M",
    codes: ["password_missing_lowercase"],
  },
  { why: "has no digit", password: "Vqx$kRz#pLwm", codes: ["password_missing_digit"] },
  { why: "has no symbol", password: "Vq7xkR2ypL9m", codes: ["password_missing_symbol"] },
  {
    why: "is only digits",
    password: "739201846573",
    codes: [
      "password_all_digits",
      "password_missing_lowercase",
      "password_missing_symbol",
      "password_missing_uppercase",
    ],
  },
  {
    why: "contains the email's local part",
    password: "Qz#9Alice.Smith",
    codes: ["password_similar_to_email", "password_too_weak"],
    options: { name: null },
  },
  {
    why: "contains the email's domain name",
    password: "Example#Rocket9",
    codes: ["password_similar_to_email"],
  },
  {
    why: "is a few edits away from the name",
    password: "Alyce-Smyth#924",
    codes: ["password_similar_to_name"],
    options: { email: "a.s@corp.io" },
  },
  {
    why: "spells the name in look-alike characters",
    password: "Gr33n!W1nd0w5-4l1c3",
    codes: ["password_similar_to_name"],
    options: { email: "x@corp.io" },
  },
  {
    why: "is a common password with a suffix",
    password: "Summer2024!!!",
    codes: ["password_common"],
  },
  {
    why: "is a common password in leetspeak",
    password: "P@ssw0rd2024!",
    codes: ["password_common", "password_too_weak"],
  },
  {
    why: "scores below 3 with zxcvbn",
    password: "Aa1!Aa1!Aa1!Aa1!",
    codes: ["password_too_weak"],
  },
  {
    why: "is a keyboard walk",
    password: "Q1w2e3r4t5y6!",
    codes: ["password_too_weak"],
  },
];

for (const { why, password, codes, options } of VIOLATIONS) {
  Deno.test(`checkPassword() rejects a password that ${why}`, async () => {
    assert.deepEqual(await codesOf(password, options), codes);
  });
}

const STRONG = [
  "Vq7$kR2#pL9m",
  "Correct-Horse-Battery-9",
  "ClockworkOrange#42",
  "Tr0ub4dor&3xyz",
  "mañana Ünïcode Wörter 7!",
  "Police-Rocket#924",
  "Vq7$kR2#pL9m".repeat(85),
];

for (const password of STRONG) {
  Deno.test(`checkPassword() accepts the strong password ${password.slice(0, 24)}`, async () => {
    assert.deepEqual(await checkPassword(password, USER), []);
  });
}

Deno.test("checkPassword() gives each violation its own field error with a readable message", async () => {
  const errors = await checkPassword("password", { ...USER, field: "new_password" });
  assert.deepEqual(errors.map((e) => e.code), [
    "password_too_short",
    "password_missing_uppercase",
    "password_missing_digit",
    "password_missing_symbol",
    "password_common",
    "password_too_weak",
  ]);
  for (const error of errors) {
    assert.equal(error.field, "new_password");
    assert.match(error.message, /^Password [a-z].*[^.]$/);
  }
  assert.equal(errors[0].message, "Password must be at least 12 characters long");
  assert.match(errors[5].message, /^Password is too easy to guess\. \S/);
});

Deno.test("checkPassword() normalises with NFKC before checking and counts characters", async () => {
  // Full-width letters and digits fold to ASCII: this is "Password123!" in disguise.
  assert.equal(normalizePassword("Ｐａｓｓｗｏｒｄ１２３！"), "Password123!");
  assert.ok((await codesOf("Ｐａｓｓｗｏｒｄ１２３！")).includes("password_common"));
  // 1024 characters pass even though they take more bytes in UTF-8; 1025 do not.
  const accented = "Ünïcödé-Wörter7!".repeat(64);
  assert.equal([...accented].length, PASSWORD_MAX_LENGTH);
  assert.deepEqual(await codesOf(accented), []);
  assert.deepEqual(await codesOf(accented + "x"), ["password_too_long"]);
});

Deno.test("checkPassword() stays fast on a 1024-character patterned password", async () => {
  await checkPassword("warm up", USER);
  const started = performance.now();
  await checkPassword("Aa1!".repeat(256), USER);
  // zxcvbn alone takes ~36 s on 256 such characters; the policy must cap its input.
  assert.ok(performance.now() - started < 3000, "took too long");
});

Deno.test("isCommonPassword() matches the list, wrapped digits and symbols, and look-alikes", async () => {
  const set = await loadCommonPasswords();
  assert.ok(set.size > 40_000, `only ${set.size} common passwords`);
  for (const p of ["123456", "Password", "dragon2024!", "!!Monkey99", "$ecret123", "Pa55w0rd1"]) {
    assert.equal(isCommonPassword(p, set), true, p);
  }
  for (const p of ["Vq7$kR2#pL9m", "Correct-Horse-Battery-9", "abc!"]) {
    assert.equal(isCommonPassword(p, set), false, p);
  }
});

Deno.test("resemblances() ignores short coincidences but catches near copies", () => {
  const info = { email: "ann.li@corp.io", name: "Christopher Wellington" };
  assert.deepEqual(resemblances("Planning-Lithium#7", info), []);
  assert.deepEqual(resemblances("Kristofer-Welington#7", info), ["name"]);
  assert.deepEqual(resemblances("CORP-io-CORP", info), ["email"]);
  assert.equal(substringDistance("xxalycesmythxx", "alicesmith", 2), 2);
  assert.equal(substringDistance("xxxxxxxxxx", "alicesmith", 2), 3);
});
