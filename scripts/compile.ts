/**
 * `deno task compile`: runs `deno compile` with exactly the arguments given (deno.json
 * lists them after this script's name). `deno compile` needs its `denort` base binary,
 * which it downloads from the Deno CDN or reads from DENORT_BIN; when it cannot get it,
 * this ends with one sentence saying what is missing and how to give it, instead of
 * deno's error chain and backtrace. Every other outcome is passed through unchanged.
 *
 * usage: deno run --allow-run --allow-read --allow-env scripts/compile.ts <deno compile args>
 * @module
 */

/** The one sentence for a failure to get denort, or undefined when denort was not the cause. */
function denortProblem(
  stderr: string,
  options: { denortBin?: string; version: string },
): string | undefined {
  if (!/denort|Setting up base binary/i.test(stderr)) return undefined;
  if (options.denortBin) {
    return `deno task compile: DENORT_BIN=${options.denortBin} is not a readable denort ` +
      `binary; point DENORT_BIN at the denort of Deno ${options.version} ` +
      "(from denort-<target>.zip of that release) and run it again";
  }
  const url = /https?:\/\/\S*denort\S*?\.zip/.exec(stderr)?.[0] ?? "the Deno CDN";
  return `deno task compile: the denort base binary could not be downloaded from ${url}; ` +
    `set DENORT_BIN to a denort binary of Deno ${options.version} ` +
    "(e.g. DENORT_BIN=/path/to/denort deno task compile) or compile where the CDN is reachable";
}

/** Lines deno printed before its error: progress worth keeping ("Check", "Compile"). */
function progressLines(stderr: string): string {
  const lines = stderr.split("\n");
  const end = lines.findIndex((l) => l.startsWith("error:"));
  return (end < 0 ? lines : lines.slice(0, end)).join("\n");
}

async function main(args: string[]): Promise<number> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["compile", ...args],
    // Plain text, so the error can be recognised and the progress lines kept as they are.
    env: { NO_COLOR: "1" },
    stdin: "inherit",
    stdout: "inherit",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stderr);
  if (code === 0) {
    await Deno.stderr.write(stderr);
    return 0;
  }
  const problem = denortProblem(text, {
    denortBin: Deno.env.get("DENORT_BIN") || undefined,
    version: Deno.version.deno,
  });
  if (!problem) {
    await Deno.stderr.write(stderr);
    return code;
  }
  const progress = progressLines(text);
  console.error(progress ? `${progress}\n${problem}` : problem);
  return 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
