import assert from "node:assert/strict";
import { DENO, tempDir } from "../support/helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const WRAPPER = `${ROOT}scripts/compile.ts`;

/** deno.json's compile task, split into the wrapper's part and `deno compile`'s part. */
async function compileTask(): Promise<{ wrapper: string[]; compile: string[] }> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const words = String(config.tasks.compile).split(/\s+/);
  const at = words.indexOf("scripts/compile.ts");
  assert.ok(at > 0, "deno task compile runs scripts/compile.ts");
  return { wrapper: words.slice(0, at), compile: words.slice(at + 1) };
}

/**
 * Runs the wrapper as `deno task compile` does, on a one-line program, where denort
 * cannot be had: a fresh DENO_DIR (nothing cached) and a proxy that refuses connections.
 */
async function compileWithoutCdn(dir: string, env: Record<string, string> = {}) {
  await Deno.writeTextFile(`${dir}/hello.ts`, "console.log('hello');\n");
  const { wrapper } = await compileTask();
  const out = await new Deno.Command(DENO, {
    args: [
      ...wrapper.slice(1),
      "--no-config",
      WRAPPER,
      "--no-config",
      "--output",
      `${dir}/hello`,
      `${dir}/hello.ts`,
    ],
    cwd: dir,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: dir,
      DENO_DIR: `${dir}/deno_dir`,
      HTTPS_PROXY: "http://127.0.0.1:9",
      HTTP_PROXY: "http://127.0.0.1:9",
      NO_COLOR: "1",
      ...env,
    },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const lines = stderr.trim().split("\n");
  return { code: out.code, stderr, last: lines[lines.length - 1] };
}

Deno.test("deno task compile hands deno compile its permissions, --include and --output unchanged", async () => {
  const { wrapper, compile } = await compileTask();
  assert.deepEqual(wrapper.slice(0, 2), ["deno", "run"]);
  assert.deepEqual(compile.slice(-3), ["--output", "dist/citadel", "src/main.ts"]);
  for (const flag of ["--allow-net", "--allow-ffi", "--include"]) assert.ok(compile.includes(flag));
});

Deno.test("deno task compile without a reachable denort ends in one sentence naming DENORT_BIN, without a backtrace", async () => {
  await using dir = await tempDir();
  const result = await compileWithoutCdn(dir.path);
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.last,
    /^deno task compile: the denort base binary could not be downloaded from https:\/\/\S+denort-\S+\.zip; set DENORT_BIN to a denort binary of Deno [\d.]+ .*$/,
  );
  assert.doesNotMatch(result.stderr, /Stack backtrace|Caused by|^error:/m);
});

Deno.test("deno task compile with DENORT_BIN naming no file says DENORT_BIN is wrong, in one sentence", async () => {
  await using dir = await tempDir();
  const result = await compileWithoutCdn(dir.path, { DENORT_BIN: `${dir.path}/no-denort` });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.last,
    new RegExp(
      `^deno task compile: DENORT_BIN=${dir.path}/no-denort is not a readable denort binary`,
    ),
  );
  assert.doesNotMatch(result.stderr, /Stack backtrace|Caused by/);
});
