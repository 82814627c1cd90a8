/**
 * Security notices by email: the owner hears of a changed password, email address or second
 * factor, a sign-in from a new network, a new API key and an added, removed or suspended
 * passkey, in the transaction of the change
 * (so a notice is queued exactly when the change commits). On by default when email is
 * configured; EMAIL_SECURITY_NOTICES=false turns them off.
 */
import type { Db } from "../db/schema.ts";
import { messages, type Recipient, recipientOf } from "./email_messages.ts";
import type { Mail } from "./mail.ts";

type Executor = Pick<Db, "insertInto" | "selectFrom">;

/** Queues the notices; each call is a no-op when email or notices are off. */
export interface SecurityNotices {
  passwordChanged(trx: Executor, to: Recipient, ip?: string | null): Promise<void>;
  emailChanged(
    trx: Executor,
    oldEmail: Recipient,
    newEmail: string,
    ip?: string | null,
  ): Promise<void>;
  mfaChanged(trx: Executor, to: Recipient, on: boolean, ip?: string | null): Promise<void>;
  newNetwork(trx: Executor, to: Recipient, network: string, ip?: string | null): Promise<void>;
  /** To the key's owner, whose address is read in the transaction. */
  apiKeyCreated(trx: Executor, ownerId: string, name: string, ip?: string | null): Promise<void>;
  /** To the passkey's owner, whose address is read in the transaction. */
  passkeyChanged(
    trx: Executor,
    ownerId: string,
    change: "added" | "removed" | "suspended",
    name: string,
    ip?: string | null,
  ): Promise<void>;
}

/** Notices that are never sent: the default of services built without email. */
export const NO_NOTICES: SecurityNotices = {
  passwordChanged: () => Promise.resolve(),
  emailChanged: () => Promise.resolve(),
  mfaChanged: () => Promise.resolve(),
  newNetwork: () => Promise.resolve(),
  apiKeyCreated: () => Promise.resolve(),
  passkeyChanged: () => Promise.resolve(),
};

/** The notices, queued through `mail`. */
export function createSecurityNotices(mail: Mail): SecurityNotices {
  const on = mail.settings.enabled && mail.settings.notices;
  if (!on) return NO_NOTICES;
  const notice = (trx: Executor, to: Recipient, what: string, ip?: string | null) =>
    mail.queue(trx, messages.securityNotice(to, what, mail.context(ip)));
  /** A notice to a user whose address is read in the transaction. */
  const toOwner = async (trx: Executor, ownerId: string, what: string, ip?: string | null) => {
    const owner = await trx.selectFrom("users").select(["email", "name", "email_verified_at"])
      .where("id", "=", ownerId).executeTakeFirst();
    if (owner) await notice(trx, recipientOf(owner), what, ip);
  };
  return {
    passwordChanged: (trx, to, ip) =>
      mail.queue(trx, messages.passwordChanged(to, mail.context(ip))),
    emailChanged: (trx, oldEmail, newEmail, ip) =>
      notice(trx, oldEmail, `Your account's email address was changed to ${newEmail}`, ip),
    mfaChanged: (trx, to, enabled, ip) =>
      notice(trx, to, `Two-factor authentication was turned ${enabled ? "on" : "off"}`, ip),
    newNetwork: (trx, to, network, ip) =>
      notice(trx, to, `A sign-in from a network not seen before (${network})`, ip),
    apiKeyCreated: (trx, ownerId, name, ip) =>
      toOwner(trx, ownerId, `An API key named "${name}" was created`, ip),
    passkeyChanged: (trx, ownerId, change, name, ip) =>
      toOwner(
        trx,
        ownerId,
        change === "added"
          ? `A passkey named "${name}" was added to your account`
          : change === "removed"
          ? `The passkey named "${name}" was removed from your account`
          : `The passkey named "${name}" was suspended: it presented a signature counter that ` +
            "went backwards, as a copied passkey does. Remove it on your account page (or ask " +
            "an administrator) and add it again",
        ip,
      ),
  };
}
