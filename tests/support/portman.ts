/**
 * Runs Portman (npm `@apideck/portman`) and newman for the fuzz run of `test:system`: Portman
 * turns the OpenAPI document and a configuration into a Postman collection with contract
 * tests and fuzzing variations, newman sends it to the live server and writes a JSON report,
 * and the report is read into the counts the issue note gives.
 * @module
 */
import { requireTools, runTool } from "./scanners.ts";
import { prepareCollection } from "./portman_collection.ts";
import { FUZZ_VARIATION } from "./portman_config.ts";

/** The versions .ci/run installs. */
export const INSTALL_HINT = "npm install -g @apideck/portman@1.33.0 newman@6.2.2 tslib@2.8.1";

/** Throws with the install hint when portman or newman is missing (tests must not skip). */
export async function requirePortman(): Promise<void> {
  await requireTools(["portman", "newman"], INSTALL_HINT);
}

/** One request newman sent, as its JSON report gives it. */
export interface Execution {
  item: { id: string; name: string };
  request: { method: string; url: { path?: string[] } };
  response?: { code: number; stream?: { data?: number[] } };
  assertions?: Array<{ assertion: string; error?: { message: string } }>;
}

/** The parts of newman's JSON report the test reads. */
export interface NewmanReport {
  run: {
    stats: Record<string, { total: number; failed: number }>;
    executions: Execution[];
    failures: Array<{ error: { message: string; test?: string }; source?: { name?: string } }>;
  };
}

/** What a run left: newman's report and the no-op fuzzing variations dropped before it. */
export interface PortmanRun {
  report: NewmanReport;
  dropped: string[];
}

/**
 * Writes the document, configuration and collection test script to `dir`, has Portman build
 * the collection (`-b` the server's address), prepares it (portman_collection.ts) and has
 * newman run it.
 */
export async function runPortman(
  dir: string,
  options: { baseUrl: string; doc: unknown; config: unknown; checkScript: string },
): Promise<PortmanRun> {
  await Deno.writeTextFile(`${dir}/openapi.json`, JSON.stringify(options.doc));
  await Deno.writeTextFile(`${dir}/portman-config.json`, JSON.stringify(options.config, null, 2));
  await Deno.writeTextFile(`${dir}/document-check.js`, options.checkScript);
  const portman = await runTool("portman", [
    "--local",
    "openapi.json",
    "--baseUrl",
    options.baseUrl,
    "--portmanConfigFile",
    "portman-config.json",
    "--output",
    "collection.json",
  ], { cwd: dir, timeoutMs: 120_000 });
  if (portman.code !== 0) {
    throw new Error(`portman failed (exit ${portman.code}):\n${portman.stdout}\n${portman.stderr}`);
  }
  const collection = JSON.parse(await Deno.readTextFile(`${dir}/collection.json`));
  const dropped = prepareCollection(collection);
  await Deno.writeTextFile(`${dir}/collection.json`, JSON.stringify(collection));
  // newman's exit code says only whether an assertion failed: the report is what is judged.
  const newman = await runTool("newman", [
    "run",
    "collection.json",
    "--reporters",
    "json",
    "--reporter-json-export",
    "newman.json",
    // A 302 is an answer to check, not a redirect to follow (Portman's own runner does this).
    "--ignore-redirects",
    "--timeout-request",
    "30000",
    "--timeout",
    "240000",
  ], { cwd: dir, timeoutMs: 300_000 });
  try {
    return { report: JSON.parse(await Deno.readTextFile(`${dir}/newman.json`)), dropped };
  } catch {
    throw new Error(
      `newman wrote no report (exit ${newman.code}):\n${newman.stdout}\n` +
        newman.stderr,
    );
  }
}

/** Whether an execution is one of Portman's fuzzing variations. */
export const isFuzzed = (e: Execution) => e.item.name.includes(`[${FUZZ_VARIATION}]`);

/** The operation (`POST::/path`) a main request's Portman status test names, if any. */
export function operationOf(e: Execution): string | undefined {
  for (const { assertion } of e.assertions ?? []) {
    const named = /^\[(\w+)\]::(\S+) - Response status code is \d+$/.exec(assertion);
    // Portman writes path parameters as Postman does (`/users/:id`).
    if (named) return `${named[1]}::${named[2].replace(/:(\w+)/g, "{$1}")}`;
  }
  return undefined;
}

/** The operation the collection test script held a request to (its tests name it). */
export function checkedAs(e: Execution): string | undefined {
  for (const { assertion } of e.assertions ?? []) {
    const named = /^\[(\w+)\]::(\S+) - never a 5xx$/.exec(assertion);
    if (named) return `${named[1]}::${named[2]}`;
  }
  return undefined;
}

/** How many requests got each status (`none`: no answer). */
export function statusCounts(executions: Execution[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of executions) {
    const key = String(e.response?.code ?? "none");
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Every failed assertion and failed request, one line each with the answer's start. */
export function failuresOf(report: NewmanReport): string[] {
  const lines: string[] = [];
  for (const e of report.run.executions) {
    const failed = (e.assertions ?? []).filter((a) => a.error);
    if (failed.length === 0 && e.response) continue;
    const body = new TextDecoder().decode(new Uint8Array(e.response?.stream?.data ?? []));
    const where = `${e.request.method} /${(e.request.url.path ?? []).join("/")}`;
    lines.push(
      `${e.item.name} (${where}) -> ${e.response?.code ?? "no answer"} ${body.slice(0, 300)}\n` +
        failed.map((a) => `    ${a.assertion}: ${a.error!.message.slice(0, 400)}`).join("\n"),
    );
  }
  for (const f of report.run.failures) {
    if (!f.error.test) lines.push(`${f.source?.name ?? "?"}: ${f.error.message}`);
  }
  return lines;
}
