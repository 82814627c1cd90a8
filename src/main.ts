/**
 * The CLI entry: parses argv, answers help, dispatches to the subcommand in src/cli/ and turns
 * its outcome into an exit code.
 */
import { asksForHelp, COMMANDS, formName, FORMS, synopsis, usageOf } from "./cli/commands.ts";
import { EXIT_USAGE, ExitError } from "./lib/exit_error.ts";
import { parseArgsProblem } from "./cli/usage_error.ts";
import { VERSION } from "./version.ts";

function usage(): string {
  const width = Math.max(...FORMS.map((f) => synopsis(f).length));
  const lines = FORMS.map((f) => `  ${synopsis(f).padEnd(width)}  ${f.summary}`);
  return `citadel ${VERSION}: secure-by-default authentication and API server

usage: citadel <command> [options]

commands:
${lines.join("\n")}

options:
  -h, --help     Show this help; citadel <command> --help shows a command's usage
  -V, --version  Show the version

Configuration comes from the environment and ./.env; see README.`;
}

/** Runs the CLI and returns the process exit code: 0 ok, 1 failure, 2 usage/config error. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    // `citadel help migrate` is `citadel migrate --help`.
    if (name === "help" && rest[0] && Object.hasOwn(COMMANDS, rest[0])) {
      console.log(usageOf(rest[0], rest.slice(1)));
      return 0;
    }
    console.log(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === "-V" || name === "--version" || name === "version") {
    console.log(`citadel ${VERSION}`);
    return 0;
  }
  if (!Object.hasOwn(COMMANDS, name)) {
    console.error(`citadel: unknown command "${name}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  // Answered here, before the command reads configuration or opens anything.
  if (asksForHelp(rest)) {
    console.log(usageOf(name, rest));
    return 0;
  }
  try {
    return await COMMANDS[name].run(rest);
  } catch (error) {
    if (error instanceof ExitError) {
      console.error(error.message);
      return error.exitCode;
    }
    const problem = parseArgsProblem(error);
    if (problem) {
      console.error(`citadel ${formName(name, rest)}: ${problem}\n\n${usageOf(name, rest)}`);
      return EXIT_USAGE;
    }
    console.error(`citadel ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
