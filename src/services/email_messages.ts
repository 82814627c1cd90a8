/**
 * The messages citadel sends, as plain text plus simple HTML (no remote images, no
 * trackers): what happened, when, from which address, and what to do if it was not you.
 * User-controlled text is escaped in HTML and flattened to one line where a header could
 * carry it; tokens travel in the URL fragment (`#token=`), so they stay out of server logs
 * and `Referer`, and again in the text part.
 */
import type { QueuedMessage } from "./email_outbox.ts";

/** Where the links point and how an event is described. */
export interface MessageContext {
  /** EMAIL_LINK_BASE_URL, e.g. `https://auth.example.com/account`. */
  linkBase: string;
  /** When it happened (ISO 8601, UTC). */
  at: string;
  /** The client address the request came from. */
  ip?: string;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text safe inside HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Text safe on one line (a header, a subject): CR, LF and other controls removed. */
export function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, " ").trim();
}

const NOT_YOU = "If this was not you, change your password now and contact your administrator.";

/** Who a message goes to: an address, or an account's address and display name. */
export type Recipient = string | { address: string; name?: string | null };

/**
 * An account as the recipient of a message: its address, greeted by its name once the
 * address is verified. Before that, the name is whatever someone typed when registering the
 * address (possibly someone else's), and greeting with it would let anyone put their text
 * into citadel's mail to a stranger.
 */
export function recipientOf(
  user: { email: string; name: string | null; email_verified_at: number | null },
): Recipient {
  return { address: user.email, name: user.email_verified_at === null ? null : user.name };
}

/** A message of paragraphs, with an optional action link (text and HTML forms). */
function compose(
  kind: string,
  recipient: Recipient,
  subject: string,
  body: string[],
  action?: { label: string; url: string; token?: string },
): QueuedMessage {
  const to = typeof recipient === "string" ? recipient : recipient.address;
  const name = typeof recipient === "string" ? undefined : oneLine(recipient.name ?? "");
  // The name is the account's own text: one line here, escaped in the HTML below.
  const paragraphs = name ? [`Hello ${name},`, ...body] : body;
  const text = [
    ...paragraphs,
    ...(action ? [`${action.label}: ${action.url}`] : []),
    ...(action?.token ? [`Or paste this code where you are asked for it: ${action.token}`] : []),
  ].join("\n\n") + "\n";
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: sans-serif; line-height: 1.5">',
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    ...(action
      ? [`<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>`]
      : []),
    "</body></html>",
    "",
  ].join("\n");
  return { kind, to: oneLine(to), subject: oneLine(subject), text, html };
}

const where = (context: MessageContext) =>
  `${context.at}${context.ip ? ` from ${context.ip}` : ""}`;
const link = (context: MessageContext, page: string, token: string) =>
  `${context.linkBase.replace(/\/+$/, "")}/${page}#token=${token}`;

/** The messages, by kind. */
export const messages = {
  verifyEmail: (to: Recipient, token: string, context: MessageContext) =>
    compose("verify_email", to, "Confirm your email address", [
      "Confirm that this address belongs to your account. The link works once, for 24 hours.",
      "If you did not create an account, ignore this message.",
    ], { label: "Confirm your address", url: link(context, "verify-email", token), token }),

  passwordReset: (to: Recipient, token: string, context: MessageContext) =>
    compose("password_reset", to, "Reset your password", [
      `Someone asked to reset the password of this account at ${where(context)}.`,
      "The link works once, for 30 minutes; only the newest link works. Resetting signs out " +
      "every session.",
      "If you did not ask for it, ignore this message: your password stays as it is.",
    ], { label: "Choose a new password", url: link(context, "reset-password", token), token }),

  passwordChanged: (to: Recipient, context: MessageContext) =>
    compose("password_changed", to, "Your password was changed", [
      `The password of your account was changed at ${where(context)}.`,
      NOT_YOU,
    ]),

  emailChangeConfirm: (to: string, token: string, context: MessageContext) =>
    compose("email_change_confirm", to, "Confirm your new email address", [
      `Someone asked at ${where(context)} to use this address for their account.`,
      "Confirm it to finish the change; the link works once, for 24 hours. If it was not you, " +
      "ignore this message.",
    ], {
      label: "Confirm the new address",
      url: link(context, "confirm-email-change", token),
      token,
    }),

  emailChangeNotice: (to: Recipient, newEmail: string, context: MessageContext) =>
    compose("email_change_notice", to, "Your account's email address is changing", [
      `At ${where(context)} a change of your account's email address to ${
        oneLine(newEmail)
      } was asked for. It takes effect when the new address confirms it.`,
      NOT_YOU,
    ]),

  /**
   * Someone registered with an address that has an account. With `token` (the account was
   * never confirmed, perhaps registered by someone else first) a link to choose the password,
   * which makes the account the address owner's.
   */
  registrationAttempt: (to: Recipient, context: MessageContext, token?: string) =>
    token === undefined
      ? compose("registration_attempt", to, "Someone tried to register with your address", [
        `At ${where(context)} someone tried to create an account with this address, which ` +
        "already has one. Nothing was changed.",
        "If it was you, sign in instead, or reset your password if you forgot it.",
      ])
      : compose("registration_attempt", to, "Someone tried to register with your address", [
        `At ${where(context)} someone tried to create an account with this address, which ` +
        "already has one that was never confirmed.",
        "If it was you, choose your password with the link below (it works once, for 30 " +
        "minutes): the account becomes yours, with this address confirmed. Otherwise ignore " +
        "this message.",
      ], {
        label: "Choose your password",
        url: link(context, "reset-password", token),
        token,
      }),

  unlock: (to: Recipient, token: string, context: MessageContext) =>
    compose("unlock", to, "Sign-in attempts on your account are being blocked", [
      "Many failed sign-ins on your account were blocked. To sign in from a new device while " +
      "this goes on, use the link below once; it works for one hour.",
      NOT_YOU,
    ], { label: "Unlock sign-in on this device", url: link(context, "unlock", token), token }),

  securityNotice: (to: Recipient, what: string, context: MessageContext) =>
    compose("security_notice", to, `Security notice: ${oneLine(what)}`, [
      `${oneLine(what)} on your account at ${where(context)}.`,
      NOT_YOU,
    ]),
};
