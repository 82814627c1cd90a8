import { audit } from "./cli/audit.ts";
import { check } from "./cli/check.ts";
import { backup, restore } from "./cli/backup.ts";
import { cleanup } from "./cli/cleanup.ts";
import { admin } from "./cli/admin.ts";
import { EXIT_USAGE, ExitError } from "./cli/load_config.ts";
import { migrate } from "./cli/migrate.ts";
import { secret } from "./cli/secret.ts";
import { serve } from "./cli/serve.ts";
import { users } from "./cli/users.ts";
import { VERSION } from "./version.ts";

type Command = { summary: string; run: (args: string[]) => Promise<number> };

/** Every subcommand of the binary, in the order `--help` lists them. */
export const COMMANDS: Record<string, Command> = {
  serve: { summary: "Run the HTTP server", run: serve },
  migrate: { summary: "Apply (up) or list (status) schema migrations", run: migrate },
  admin: { summary: "Create an administrator or reset a user's password", run: admin },
  users: { summary: "Disable or delete inactive accounts (prune-inactive)", run: users },
  secret: { summary: "Print a new random secret for JWT_SECRET_KEY", run: secret },
  check: { summary: "Audit the deployment: configuration, files, database, live URL", run: check },
  audit: { summary: "Verify, export (jsonl|csv) or prune the audit log", run: audit },
  backup: { summary: "Write a verified copy of the database (VACUUM INTO, mode 600)", run: backup },
  restore: { summary: "Replace the database with a verified backup", run: restore },
  cleanup: { summary: "Remove expired sessions, old login records and counters", run: cleanup },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  return `citadel ${VERSION}: secure-by-default authentication and API server

usage: citadel <command> [options]

commands:
${lines.join("\n")}

options:
  -h, --help     Show this help
  -V, --version  Show the version

Configuration comes from the environment and ./.env; see README.`;
}

/** Runs the CLI and returns the process exit code: 0 ok, 1 failure, 2 usage/config error. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    console.log(usage());
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === "-V" || name === "--version" || name === "version") {
    console.log(`citadel ${VERSION}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`citadel: unknown command "${name}"\n\n${usage()}`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof ExitError) {
      console.error(error.message);
      return error.exitCode;
    }
    if (
      error instanceof TypeError && "code" in error &&
      String(error.code).startsWith("ERR_PARSE_ARGS")
    ) {
      console.error(`citadel ${name}: ${error.message}`);
      return EXIT_USAGE;
    }
    console.error(`citadel ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
