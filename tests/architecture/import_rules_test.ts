/**
 * The import rules of README's Development section, checked on the real import graph of
 * `src/` (and `migrations/`): which room may import which, where the runtime APIs that
 * listen, serve, spawn, exit or read the environment may be used, and no cycle between
 * source files. A failure lists every offending edge, file or cycle.
 */
import assert from "node:assert/strict";
import {
  findCycles,
  readImportGraph,
  relativeSpecifiers,
  type SourceFile,
  stripComments,
} from "../support/import_graph.ts";

/** The room of a repository-relative path: `src/<room>/...`, or a named top-level file. */
function roomOf(path: string): string {
  if (path.startsWith("migrations/")) return "migrations";
  const [top, second] = path.split("/");
  if (top !== "src") return `outside:${top}`;
  if (path.split("/").length > 2) return second;
  if (path === "src/main.ts") return "main";
  if (path === "src/app.ts" || path === "src/app_types.ts") return "app";
  if (/^src\/config(_\w+)?\.ts$/.test(path) || path === "src/production_rules.ts") return "config";
  if (path === "src/errors.ts") return "errors";
  if (path === "src/version.ts") return "version";
  return `unassigned:${path}`;
}

/** Leaves every room but lib may use: domain errors and the version string. */
const LEAVES = ["errors", "version"];
/** The domain and everything under it, which the HTTP side, tools and edges build on. */
const DOMAIN = ["services", "db", "platform", "lib", "config", ...LEAVES];
/** The app and everything under it, which the serving runtime and the edges build on. */
const APP = ["app", "middleware", ...DOMAIN];

/** The rooms each room may import besides itself (arrows point down). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  lib: [],
  errors: ["lib"],
  version: [],
  migrations: [],
  config: ["lib", ...LEAVES],
  db: ["lib", "migrations", ...LEAVES],
  platform: ["db", "lib", ...LEAVES],
  services: ["db", "platform", "lib", ...LEAVES],
  middleware: ["app", ...DOMAIN],
  routes: APP,
  console: APP,
  app: ["console", "routes", ...APP],
  tools: ["migrations", ...DOMAIN],
  server: APP,
  entry: ["routes", ...APP],
  cli: ["server", "tools", "routes", "migrations", ...APP],
  main: ["cli", "lib", "config", ...LEAVES],
};

/**
 * Runtime APIs and the rooms that may use them: listening, serving, spawning, exiting and
 * signals belong to the process edges; `Deno.Command` also to the CLI-only tools; the
 * environment is read by config and the edges that build it.
 */
const RUNTIME_APIS: Record<string, readonly string[]> = {
  serve: ["main", "cli", "server", "entry"],
  listen: ["main", "cli", "server", "entry"],
  listenTls: ["main", "cli", "server", "entry"],
  Command: ["main", "cli", "server", "entry", "tools"],
  run: ["main", "cli", "server", "entry", "tools"],
  exit: ["main", "cli", "server", "entry"],
  addSignalListener: ["main", "cli", "server", "entry"],
  env: ["main", "cli", "entry", "config"],
};

let graph: Promise<SourceFile[]> | undefined;
const readGraph = () =>
  graph ??= Promise.all([readImportGraph("src"), readImportGraph("migrations")])
    .then(([src, migrations]) => [...src, ...migrations]);

Deno.test("the graph reader sees every kind of import and skips comments", async () => {
  const code = stripComments(`/**
 * import { inDoc } from "./doc.ts";
 */
import { a } from "./static.ts";
import type { B } from "../type_only.ts";
import {
  c,
  type D,
} from "./multi_line.ts";
export { e } from "./re_export.ts";
export type { F } from "./type_re_export.ts";
import "./side_effect.ts";
// import { g } from "./line_comment.ts";
const h = await import("./dynamic.ts");
new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
import { z } from "zod";
await fetch("https://example.com"); const i = await import("./after_url.ts");
`);
  assert.deepEqual(relativeSpecifiers(code).sort(), [
    "../type_only.ts",
    "./after_url.ts",
    "./dynamic.ts",
    "./multi_line.ts",
    "./re_export.ts",
    "./side_effect.ts",
    "./static.ts",
    "./type_re_export.ts",
    "./worker.ts",
  ]);
  const workers = (await readGraph()).find((file) => file.path === "src/server/workers.ts");
  assert.ok(workers?.imports.includes("src/server/serve_worker.ts"), "new Worker(new URL(...))");
});

Deno.test("every source file sits in a known room", async () => {
  const unknown = (await readGraph())
    .map((file) => file.path)
    .filter((path) => !(roomOf(path) in MAY_IMPORT));
  assert.deepEqual(unknown, [], "files outside every room (add a room to the rules)");
});

Deno.test("imports point down: each room imports only the rooms below it", async () => {
  const allowed = (from: string, to: string) =>
    to === from || (MAY_IMPORT[from] ?? []).includes(to);
  const offending = (await readGraph()).flatMap((file) =>
    file.imports
      .filter((target) => !allowed(roomOf(file.path), roomOf(target)))
      .map((target) => `${file.path} (${roomOf(file.path)}) -> ${target} (${roomOf(target)})`)
  );
  assert.deepEqual(offending, [], "imports against the room rules");
});

Deno.test("only the process edges listen, serve, spawn, exit or read the environment", async () => {
  const offending = (await readGraph()).flatMap((file) =>
    [...file.denoApis]
      .filter((api) => RUNTIME_APIS[api]?.includes(roomOf(file.path)) === false)
      .map((api) => `${file.path} uses Deno.${api}`)
  );
  assert.deepEqual(offending, [], "runtime APIs outside the rooms allowed to use them");
});

Deno.test("lib does no I/O: no Deno API and no fetch", async () => {
  const offending = (await readGraph())
    .filter((file) => roomOf(file.path) === "lib")
    .filter((file) => file.denoApis.size > 0 || file.callsFetch)
    .map((file) => {
      const uses = [...file.denoApis].map((api) => `Deno.${api}`);
      return `${file.path} uses ${[...uses, ...(file.callsFetch ? ["fetch"] : [])].join(", ")}`;
    });
  assert.deepEqual(offending, [], "lib files that touch the runtime");
});

Deno.test("no cycle between source files", async () => {
  const cycles = findCycles(await readGraph()).map((cycle) => cycle.join(" <-> "));
  assert.deepEqual(cycles, [], "import cycles");
});
