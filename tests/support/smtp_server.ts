/**
 * A real SMTP server (the `smtp-server` package) on a free loopback port, for the mail
 * transport and outbox tests: STARTTLS or implicit TLS with a test certificate, AUTH
 * required unless told otherwise, and every received message kept raw and parsed.
 */
import { SMTPServer } from "smtp-server";
import { type ParsedMail, simpleParser } from "mailparser";
import { Buffer } from "node:buffer";
import type { TestCertificate } from "./tls_cert.ts";

export const SMTP_USER = "mailer";
export const SMTP_PASS = "correct horse battery staple";

/** One message as the server received it. */
export interface ReceivedMail {
  raw: string;
  parsed: ParsedMail;
  /** Whether the session was over TLS (STARTTLS or implicit) when the data came. */
  secure: boolean;
  user: string | undefined;
  envelopeTo: string[];
}

/** A running test SMTP server. */
export interface TestSmtpServer {
  port: number;
  received: ReceivedMail[];
  /** Errors the server reported on its sockets (a refused client's TLS alert, ...). */
  errors: Error[];
  /** Resolves once `count` messages have been received (or rejects after `ms`). */
  waitFor(count: number, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@linkcode startSmtpServer}. */
export interface TestSmtpOptions {
  /** The certificate; without it the server speaks plaintext only. */
  cert?: TestCertificate;
  /** Implicit TLS from the first byte (`smtps://`). */
  secure?: boolean;
  /** No STARTTLS offered. */
  noStartTls?: boolean;
  /** AUTH optional (plaintext servers). */
  authOptional?: boolean;
  /** A fixed port (to start a server where one was down). */
  port?: number;
}

/** A free loopback port (nothing listens on it once returned). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts a server; AUTH PLAIN/LOGIN with {@linkcode SMTP_USER}/{@linkcode SMTP_PASS}. */
export async function startSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const errors: Error[] = [];
  const waiters: Array<() => void> = [];
  const tls = options.cert
    ? {
      key: await Deno.readTextFile(options.cert.keyFile),
      cert: await Deno.readTextFile(options.cert.certFile),
    }
    : {};
  const disabled = [
    ...(options.noStartTls || !options.cert ? ["STARTTLS"] : []),
    ...(options.authOptional ? ["AUTH"] : []),
  ];
  const server = new SMTPServer({
    ...tls,
    secure: options.secure === true,
    authMethods: ["PLAIN", "LOGIN"],
    authOptional: options.authOptional === true,
    allowInsecureAuth: false,
    disabledCommands: disabled,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASS) {
        callback(null, { user: auth.username });
      } else {
        callback(new Error("Invalid username or password"));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", async () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        received.push({
          raw,
          parsed: await simpleParser(raw),
          secure: session.secure,
          user: session.user as string | undefined,
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
        });
        callback();
        for (const wake of waiters.splice(0)) wake();
      });
    },
  });
  server.on("error", (error: Error) => errors.push(error));
  const port = options.port ?? freePort();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port,
    received,
    errors,
    async waitFor(count, ms = 5000) {
      const deadline = Date.now() + ms;
      while (received.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} messages, received ${received.length}`);
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
