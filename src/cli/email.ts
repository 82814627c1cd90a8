/**
 * The `citadel email` commands: `test --to ADDRESS` sends one message straight through the
 * configured transport (not the outbox) and reports how the SMTP dialogue ended; `send`
 * delivers the outbox's due messages once (for deployments where no `citadel serve` runs the
 * background sender: Deno Deploy, Cloudflare Workers).
 */
import { parseArgs } from "node:util";
import { EXIT_USAGE, ExitError } from "../lib/exit_error.ts";
import { transportFor } from "../platform/mail_transport.ts";
import { dataDirectory } from "../platform/secret_files.ts";
import { createLogger, stderrSink } from "../platform/logger.ts";
import { buildEmailSender } from "../server/email_sender.ts";
import { openRuntime } from "../server/runtime.ts";
import { resolveDataDirSecrets } from "./data_dir_secrets.ts";
import { loadConfig } from "./load_config.ts";
import { usageError } from "./usage_error.ts";

/** Usage of `citadel email`, printed by `--help` and after a usage error. */
export const USAGE = `usage: citadel email test --to ADDRESS
       citadel email send

test: sends a test message through SMTP_URL (STARTTLS or implicit TLS, the certificate
verified) and prints the server's answer; without SMTP_URL in development it writes an .eml
file under DATA_DIR/mail. Exit 1 when the message was not accepted, with the reason.
send: delivers every due message of the outbox once (run it from cron where no citadel serve
runs the background sender) and prints what was sent and what waits. Exit 1 when a due
message could not be sent.`;

/** `citadel email test --to ADDRESS`. */
export async function email(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { to: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  const [sub, extra] = positionals;
  if (sub !== "test" && sub !== "send") {
    throw usageError(
      "email",
      sub === undefined ? "missing subcommand: test or send" : `unknown subcommand "${sub}"`,
      USAGE,
    );
  }
  if (extra !== undefined) {
    throw usageError(`email ${sub}`, `unexpected argument "${extra}"`, USAGE);
  }
  if (sub === "send") {
    if (values.to !== undefined) throw usageError("email send", "--to is for email test", USAGE);
    return await sendOutbox();
  }
  const to = values.to?.trim();
  if (!to || !/^[^\s@]+@[^\s@]+$/.test(to)) {
    throw usageError("email test", "--to must be an email address", USAGE);
  }
  const config = await loadConfig();
  const transport = await transportFor(config.email, {
    production: config.appEnv === "production",
    mailDir: `${dataDirectory(config)}/mail`,
  });
  if (!transport) throw noSmtp();
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

const noSmtp = () =>
  new ExitError(
    EXIT_USAGE,
    "SMTP_URL: is not set, and APP_ENV=production sends no email without it. Set " +
      "SMTP_URL=smtp://user:password@mail.example.com:587",
  );

/** `citadel email send`: one pass over the due messages, then what is left. */
async function sendOutbox(): Promise<number> {
  // The pepper that sealed the bodies may be the generated one in the data directory.
  const config = await resolveDataDirSecrets(
    await loadConfig(),
    (m) => console.error(`warning: ${m}`),
  );
  const logger = createLogger({ level: "warn", sinks: [stderrSink()] });
  const runtime = await openRuntime(config, { migrate: false, logger });
  try {
    const built = await buildEmailSender(runtime.deps);
    if (!built) throw noSmtp();
    const started = runtime.deps.clock.now();
    let sent = 0;
    try {
      // Failed messages are rescheduled into the future, so the loop ends.
      for (
        let batch = await built.sender.runOnce();
        batch > 0;
        batch = await built.sender.runOnce()
      ) {
        sent += batch;
      }
    } finally {
      built.transport.close();
    }
    const { db } = runtime.deps;
    const count = (filter: "waiting" | "failed_now" | "given_up") =>
      db.selectFrom("email_outbox").select((eb) => eb.fn.countAll<number>().as("n"))
        .where("sent_at", "is", null)
        .$call((q) =>
          filter === "given_up"
            ? q.where("failed_at", "is not", null)
            : filter === "failed_now"
            ? q.where("failed_at", "is", null).where("last_error", "is not", null)
              .where("next_attempt_at", ">", started)
            : q.where("failed_at", "is", null)
        ).executeTakeFirstOrThrow().then((row) => Number(row.n));
    const [waiting, failedNow, givenUp] = await Promise.all([
      count("waiting"),
      count("failed_now"),
      count("given_up"),
    ]);
    console.log(
      `sent ${sent}; ${waiting} waiting (${failedNow} failed just now and will be retried); ` +
        `${givenUp} given up`,
    );
    return failedNow > 0 ? 1 : 0;
  } finally {
    await runtime.close();
  }
}
