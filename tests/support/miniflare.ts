/**
 * Runs a bundled Worker in Miniflare (workerd from npm) for the Cloudflare tests:
 * installs scripts/deploy/cloudflare's pinned npm packages when missing (`npm ci`),
 * bundles with its build.mjs (esbuild) and serves with its miniflare_server.mjs on a
 * loopback port. Needs `node` and `npm` on PATH, as the README's Workers steps do.
 */
import { DENO } from "./helpers.ts";
import { spawnServer } from "./spawned_server.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;
export const CLOUDFLARE = `${ROOT}scripts/deploy/cloudflare`;

async function run(cmd: string, args: string[], cwd = ROOT): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", npm_config_update_notifier: "false" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function installedVersion(name: string): Promise<string | undefined> {
  try {
    const text = await Deno.readTextFile(`${CLOUDFLARE}/node_modules/${name}/package.json`);
    return JSON.parse(text).version;
  } catch {
    return undefined;
  }
}

let prepared: Promise<void> | undefined;

/** Installs the pinned Miniflare and esbuild (once per process) and the repo's npm deps. */
export function prepareCloudflareTools(): Promise<void> {
  prepared ??= (async () => {
    const manifest = JSON.parse(await Deno.readTextFile(`${CLOUDFLARE}/package.json`));
    const wanted = manifest.devDependencies as Record<string, string>;
    const current = await Promise.all(Object.keys(wanted).map(installedVersion));
    if (Object.values(wanted).some((version, i) => current[i] !== version)) {
      await run("npm", ["ci", "--no-audit", "--no-fund", "--prefix", CLOUDFLARE]);
    }
    // build.mjs resolves the app's packages from the repository's node_modules.
    if (!await exists(`${ROOT}node_modules/hash-wasm/package.json`)) await run(DENO, ["install"]);
  })();
  return prepared;
}

/** Bundles a Worker into `out`; `plain` bundles the module as is (no citadel wiring). */
export async function buildWorker(out: string, options: { entry?: string; plain?: boolean } = {}) {
  await prepareCloudflareTools();
  const args = [`${CLOUDFLARE}/build.mjs`, "--out", out];
  if (options.entry) args.push("--entry", options.entry);
  if (options.plain) args.push("--plain");
  await run("node", args);
}

/** A Worker served by Miniflare on loopback. */
export interface MiniflareServer {
  url: string;
  output: string[];
  stop(): Promise<void>;
}

/** Serves a built Worker with a fresh local D1 (`DB`), migrated from `migrations` if given. */
export async function startMiniflare(
  dist: string,
  options: { vars?: Record<string, string>; migrations?: string } = {},
): Promise<MiniflareServer> {
  const args = [`${CLOUDFLARE}/miniflare_server.mjs`, "--dist", dist];
  if (options.migrations) args.push("--migrations", options.migrations);
  args.push("--vars", JSON.stringify(options.vars ?? {}));
  const server = await spawnServer("node", args, /^\{"url":"(http:\/\/127\.0\.0\.1:\d+)"\}$/, {
    cwd: CLOUDFLARE,
  });
  return {
    url: server.ready[1],
    output: server.output,
    async stop() {
      await server.stop();
    },
  };
}
