/**
 * The layout of `tests/` that README's Development section states: it mirrors `src/` (and
 * `scripts/`), so every test file names the source file it covers by its path, and every
 * helper, fixture and subprocess script sits in `tests/support/`. `tests/architecture/`
 * (checks over the whole tree) and `tests/system/` (the system suite) stand apart.
 */
import assert from "node:assert/strict";
import { basename, dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "../..");
const APART = ["tests/architecture/", "tests/system/", "tests/support/"];

async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await filesUnder(path));
    else found.push(path);
  }
  return found;
}

/** `tests/<room>/<name>[_<aspect>]_test.ts` covers `src/<room>/<name>.*` (or `scripts/...`). */
async function coveredFile(test: string): Promise<string | undefined> {
  const inTests = relative("tests", test);
  const folder = dirname(inTests);
  const stem = basename(inTests).replace(/_test\.ts$/, "");
  const base = folder.startsWith("scripts") ? folder : join("src", folder);
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(join(ROOT, base)));
  } catch {
    return undefined;
  }
  const names = entries.filter((e) => e.isFile).map((e) => e.name.replace(/\.\w+$/, ""));
  const match = names.filter((name) => stem === name || stem.startsWith(`${name}_`))
    .sort((a, b) => b.length - a.length)[0];
  return match === undefined ? undefined : join(base, match);
}

Deno.test("every test file is named after the source file it covers, in the mirrored folder", async () => {
  const tests = (await filesUnder("tests"))
    .filter((path) => path.endsWith("_test.ts") && !APART.some((dir) => path.startsWith(dir)));
  const orphans: string[] = [];
  for (const test of tests) if (await coveredFile(test) === undefined) orphans.push(test);
  assert.ok(tests.length > 50, "the walk found the tests");
  assert.deepEqual(orphans, [], "tests that mirror no file of src/ or scripts/");
});

Deno.test("helpers, fixtures and subprocess scripts live in tests/support/ only", async () => {
  const strays = (await filesUnder("tests"))
    .filter((path) => !path.endsWith("_test.ts") && !APART.some((dir) => path.startsWith(dir)));
  assert.deepEqual(strays, [], "non-test files outside tests/support/");
});
