/**
 * The `citadel email test --to ADDRESS` command: sends one message straight through the
 * configured transport (not the outbox) and reports how the SMTP dialogue ended.
 */
import { parseArgs } from "node:util";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { transportFor } from "../platform/mail_transport.ts";
import { dataDirectory } from "../platform/secret_files.ts";
import { loadConfig } from "./load_config.ts";
import { usageError } from "./usage_error.ts";

/** Usage of `citadel email`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel email test --to ADDRESS

Sends a test message through SMTP_URL (STARTTLS or implicit TLS, the certificate verified)
and prints the server's answer; without SMTP_URL in development it writes an .eml file
under DATA_DIR/mail. Exit 1 when the message was not accepted, with the reason.`;

/** `citadel email test --to ADDRESS`. */
export async function email(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { to: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const [sub, extra] = positionals;
  if (sub !== "test") {
    throw usageError(
      "email",
      sub === undefined ? "missing subcommand: test" : `unknown subcommand "${sub}"`,
      USAGE,
    );
  }
  if (extra !== undefined) throw usageError("email test", `unexpected argument "${extra}"`, USAGE);
  const to = values.to?.trim();
  if (!to || !/^[^\s@]+@[^\s@]+$/.test(to)) {
    throw usageError("email test", "--to must be an email address", USAGE);
  }
  const config = await loadConfig();
  const transport = await transportFor(config.email, {
    production: config.appEnv === "production",
    mailDir: `${dataDirectory(config)}/mail`,
  });
  if (!transport) {
    throw new ExitError(
      EXIT_USAGE,
      "SMTP_URL: is not set, and APP_ENV=production sends no email without it. Set " +
        "SMTP_URL=smtp://user:password@mail.example.com:587",
    );
  }
  try {
    const result = await transport.send({
      to,
      subject: "citadel test message",
      text: "This is a test message from citadel: email delivery works.\n",
      html: "<p>This is a test message from citadel: email delivery works.</p>\n",
      messageId: `<${crypto.randomUUID()}@citadel.test>`,
    });
    console.log(`sent to ${to} (${transport.kind}): ${result.response}`);
    return 0;
  } catch (error) {
    throw new ExitError(
      1,
      `citadel email test: not sent: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    transport.close();
  }
}
