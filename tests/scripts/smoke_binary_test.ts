import assert from "node:assert/strict";
import { DENO, tempDir } from "../support/helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SMOKE = `${ROOT}scripts/smoke_binary.sh`;

/**
 * The permissions `deno task compile` bakes into the binary, read from deno.json: the
 * arguments it hands to scripts/compile.ts (the wrapper's own permissions come before).
 */
async function compilePermissions(): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const words = String(config.tasks.compile).split(/\s+/);
  const flags = words.slice(words.indexOf("scripts/compile.ts") + 1)
    .filter((f) => f.startsWith("--allow-"));
  assert.ok(flags.length > 0, "deno.json has a compile task with permissions");
  return flags;
}

async function denoDir(): Promise<string> {
  const out = await new Deno.Command(DENO, { args: ["info", "--json"], stdout: "piped" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

/** An executable that behaves like the compiled binary: `deno run` with its permissions. */
async function binaryLike(dir: string, body?: string): Promise<string> {
  const path = `${dir}/citadel`;
  const script = body ?? `#!/bin/sh
export DENO_DIR='${await denoDir()}'
exec '${DENO}' run --quiet --config '${ROOT}deno.json' ${
    (await compilePermissions()).join(" ")
  } '${ROOT}src/main.ts' "$@"
`;
  await Deno.writeTextFile(path, script, { mode: 0o755 });
  return path;
}

async function smoke(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command("bash", {
    args: [SMOKE, ...args],
    env: { PATH: `${Deno.env.get("PATH")}`, HOME: Deno.env.get("HOME") ?? "/tmp", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("smoke_binary.sh passes against a binary-like citadel with the compile permissions", async () => {
  await using dir = await tempDir();
  const result = await smoke([await binaryLike(dir.path)]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  for (
    const step of [
      "ok  GET /health",
      "ok  POST /api/v1/auth/register",
      "ok  POST /api/v1/auth/login",
      "ok  GET /api/v1/me",
      "ok  exit 0",
      "== migrate status",
      "== check --json",
    ]
  ) {
    assert.ok(result.stdout.includes(step), `missing "${step}" in:\n${result.stdout}`);
  }
  assert.match(result.stdout, /^smoke_binary: ok \(citadel \d+\.\d+\.\d+\)$/m);
});

Deno.test("smoke_binary.sh fails with a reason when the binary misbehaves", async () => {
  await using dir = await tempDir();
  const result = await smoke([await binaryLike(dir.path, "#!/bin/sh\necho 'not citadel'\n")]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /smoke_binary: FAILED: --version printed 'not citadel'/);
});

Deno.test("smoke_binary.sh --from-ci prints one line and exits 0 when deno compile cannot get denort", async () => {
  const result = await smoke(["--from-ci"], { SMOKE_DENO_CDN: "http://127.0.0.1:9" });
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, result.stdout);
  assert.match(
    lines[0],
    /^smoke_binary: not run: deno compile cannot get its base binary \(DENORT_BIN is unset and http:\/\/127\.0\.0\.1:9\/release\/v[\d.]+\/denort-[\w-]+\.zip is unreachable\)$/,
  );
});
