/**
 * Runs the security scanners of `test:system` (wapiti, sqlmap, testssl.sh) against a
 * loopback target with bounded time, and reads their reports. None of them sets its
 * exit code on findings, so the reports are what the tests judge.
 */

/** The output of one scanner run. */
export interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion or kills it after `timeoutMs`; never reads stdin. */
export async function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; timeoutMs: number },
): Promise<ToolRun> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", TERM: "dumb" },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const out = await child.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Throws with the install hint when a tool is missing (tests must not skip). */
export async function requireTools(
  names: string[],
  installHint = "apt-get install -y wapiti sqlmap testssl.sh",
): Promise<void> {
  const missing: string[] = [];
  for (const name of names) {
    const { success } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    }).output();
    if (!success) missing.push(name);
  }
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(", ")}; install them with \`${installHint}\``);
  }
}

/** One finding of a wapiti JSON report. */
export interface WapitiFinding {
  category: string;
  kind: "vulnerability" | "anomaly";
  info: string;
  path: string;
}

/** Every vulnerability and anomaly in a wapiti JSON report. */
export function wapitiFindings(report: {
  vulnerabilities?: Record<string, Array<{ info?: string; path?: string }>>;
  anomalies?: Record<string, Array<{ info?: string; path?: string }>>;
}): WapitiFinding[] {
  const findings: WapitiFinding[] = [];
  const collect = (
    kind: WapitiFinding["kind"],
    groups: Record<string, Array<{ info?: string; path?: string }>> | undefined,
  ) => {
    for (const [category, entries] of Object.entries(groups ?? {})) {
      for (const e of entries) {
        findings.push({ category, kind, info: e.info ?? "", path: e.path ?? "" });
      }
    }
  };
  collect("vulnerability", report.vulnerabilities);
  collect("anomaly", report.anomalies);
  return findings;
}

/** What sqlmap concluded, from its console output and its per-target log file. */
export interface SqlmapVerdict {
  injectable: boolean;
  /** sqlmap tested the parameters and said none is injectable. */
  testedClean: boolean;
  log: string;
}

/** Reads sqlmap's verdict; `outputDir` is its --output-dir. */
export async function sqlmapVerdict(run: ToolRun, outputDir: string): Promise<SqlmapVerdict> {
  let log = "";
  try {
    log = await Deno.readTextFile(`${outputDir}/127.0.0.1/log`);
  } catch { /* no log: nothing was found */ }
  const text = run.stdout + run.stderr;
  return {
    injectable: /identified the following injection point|is vulnerable|Parameter: .* \(/i
      .test(text) || log.trim() !== "",
    testedClean: /do not appear to be injectable/i.test(text),
    log,
  };
}

/** One entry of a testssl.sh JSON file. */
export interface TestsslEntry {
  id: string;
  severity: string;
  finding: string;
}
