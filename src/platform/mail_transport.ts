/**
 * How a message leaves citadel: over SMTP with nodemailer (STARTTLS required on `smtp://`,
 * implicit TLS on `smtps://`, the server's certificate always verified, optionally against
 * an extra CA), or, in development without SMTP_URL, as `.eml` files (mode 600) in a
 * directory. nodemailer rather than an own client: its TLS upgrade, AUTH and dot-stuffing
 * are years older than this code.
 */
import nodemailer from "nodemailer";
import { rootCertificates } from "node:tls";

/** A message as the outbox hands it over. */
export interface OutgoingMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per outbox row, so a receiver can drop a copy sent again after a crash. */
  messageId: string;
}

/** What a send reports: the server's answer, or the file written. */
export interface SendResult {
  messageId: string;
  response: string;
}

/** Sends messages; one per process. */
export interface MailTransport {
  readonly kind: "smtp" | "file";
  send(message: OutgoingMessage): Promise<SendResult>;
  close(): void;
}

/** Options of {@linkcode smtpTransport}. */
export interface SmtpOptions {
  url: string;
  from: string;
  /** PEM text of an extra CA the server's certificate may chain to. */
  ca?: string;
  /** SMTP_ALLOW_INSECURE: plaintext allowed (a local test server; refused in production). */
  allowInsecure?: boolean;
  /** Seconds to wait for the server at each stage. */
  timeoutSeconds?: number;
}

/**
 * SMTP through nodemailer. `smtp://` must upgrade with STARTTLS (a server that does not offer
 * it gets nothing) unless `allowInsecure`; `smtps://` speaks TLS from the first byte. The
 * certificate is verified against the system roots plus `ca`.
 */
export function smtpTransport(options: SmtpOptions): MailTransport {
  const url = new URL(options.url);
  const implicit = url.protocol === "smtps:";
  const timeout = (options.timeoutSeconds ?? 30) * 1000;
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: url.port ? Number(url.port) : implicit ? 465 : 587,
    secure: implicit,
    requireTLS: !implicit && !options.allowInsecure,
    ignoreTLS: !implicit && options.allowInsecure === true,
    auth: url.username
      ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
      : undefined,
    tls: {
      rejectUnauthorized: true,
      minVersion: "TLSv1.2",
      ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
    },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    kind: "smtp",
    async send(message) {
      const info = await transport.sendMail({
        from: options.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: message.messageId,
        date: new Date(),
      });
      return { messageId: info.messageId, response: String(info.response) };
    },
    close: () => transport.close(),
  };
}

/**
 * Development without SMTP_URL: each message is written as `<time>-<id>.eml` (mode 600) in
 * `dir`, exactly the bytes SMTP would have carried, for a mail client or a test to open.
 */
export function fileTransport(dir: string, from: string): MailTransport {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true });
  return {
    kind: "file",
    async send(message) {
      const info = await transport.sendMail({
        from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        messageId: message.messageId,
        date: new Date(),
      });
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      const name = `${Date.now()}-${message.messageId.replace(/[^A-Za-z0-9.-]/g, "_")}.eml`;
      const path = `${dir}/${name}`;
      await Deno.writeFile(path, new Uint8Array(info.message as unknown as ArrayBuffer), {
        mode: 0o600,
        createNew: true,
      });
      return { messageId: info.messageId, response: `written to ${path}` };
    },
    close: () => transport.close(),
  };
}

/** The settings {@linkcode transportFor} reads; `Config["email"]` fits. */
export interface TransportSettings {
  smtpUrl?: string;
  from: string;
  caFile?: string;
  allowInsecure: boolean;
}

/**
 * The transport a configuration asks for: SMTP when SMTP_URL is set (SMTP_CA_FILE read
 * here), `.eml` files under `mailDir` in development, none in production without SMTP (the
 * email endpoints then answer 503 `email_not_configured`).
 */
export async function transportFor(
  settings: TransportSettings,
  options: { production: boolean; mailDir: string },
): Promise<MailTransport | undefined> {
  if (settings.smtpUrl) {
    return smtpTransport({
      url: settings.smtpUrl,
      from: settings.from,
      ca: settings.caFile ? await Deno.readTextFile(settings.caFile) : undefined,
      allowInsecure: settings.allowInsecure,
    });
  }
  return options.production ? undefined : fileTransport(options.mailDir, settings.from);
}
