/**
 * Helpers for the in-process email-flow tests: the queued messages (rows of `email_outbox`,
 * in the order they were queued), the token a message carries, and the email routes.
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import { outboxCipher } from "../../src/services/email_outbox.ts";
import { createPepper } from "../../src/services/pepper.ts";
import { request, type TestApp } from "./helpers.ts";

/** A queued message as the outbox stores it. */
export interface OutboxRow {
  id: string;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  kind: string;
}

/** The queued messages, oldest first; only those of `filter.to` / `filter.kind` when given. */
export async function outbox(
  t: TestApp,
  filter: { to?: string; kind?: string } = {},
): Promise<OutboxRow[]> {
  let query = t.deps.db.selectFrom("email_outbox")
    .select(["id", "recipient", "subject", "text_body", "html_body", "kind"])
    .orderBy(sql`rowid`);
  if (filter.to !== undefined) query = query.where("recipient", "=", filter.to);
  if (filter.kind !== undefined) query = query.where("kind", "=", filter.kind);
  const rows = await query.execute();
  // The bodies are sealed in the row (they carry tokens); opened here as the sender opens them.
  const { config } = t.deps;
  const cipher = await outboxCipher(createPepper({
    hashPepper: config.hashPepper,
    jwtSecret: config.jwt.secret!,
    previousJwtSecret: config.jwt.previousSecret,
  }));
  const open = (row: OutboxRow, column: "text_body" | "html_body") =>
    row[column] === ""
      ? ""
      : cipher.decrypt(row[column], { table: "email_outbox", column, rowId: row.id });
  return await Promise.all(rows.map(async (row) => ({
    ...row,
    text_body: await open(row, "text_body"),
    html_body: await open(row, "html_body"),
  })));
}

/** The only queued message of `kind` to `to`; fails when there are none or several. */
export async function onlyMessage(t: TestApp, to: string, kind: string): Promise<OutboxRow> {
  const rows = await outbox(t, { to, kind });
  assert.equal(rows.length, 1, `one ${kind} message to ${to}, got ${rows.length}`);
  return rows[0];
}

/**
 * The token of a message: the `#token=` value of its link, which the text part also carries
 * on the "Or paste this code" line and the HTML part in its link.
 */
export function tokenFrom(row: OutboxRow): string {
  const link = row.text_body.match(/\/[a-z-]+#token=([A-Za-z0-9_-]+)\s/);
  assert.ok(link, `no #token= link in the ${row.kind} message:\n${row.text_body}`);
  const token = link[1];
  assert.match(token, /^[A-Za-z0-9_-]{43}$/, "32 random bytes in base64url");
  assert.ok(
    row.text_body.includes(`Or paste this code where you are asked for it: ${token}\n`),
    "the text part repeats the token",
  );
  assert.ok(row.html_body.includes(`#token=${token}"`), "the HTML link carries the token");
  return token;
}

/** The newest message of `kind` to `to`, and its token. */
export async function latestToken(t: TestApp, to: string, kind: string): Promise<string> {
  const rows = await outbox(t, { to, kind });
  assert.ok(rows.length > 0, `no ${kind} message to ${to}`);
  return tokenFrom(rows[rows.length - 1]);
}

/** POSTs a JSON body to `/api/v1/auth/<path>` from `ip`. */
export function authPost(
  t: TestApp,
  path: string,
  body: unknown,
  ip?: string,
): Promise<Response> {
  return request(t.app, "POST", `/api/v1/auth/${path}`, { body, ip });
}

/** The answer body of a `.../request` (202, the same whether or not an account exists). */
export const REQUEST_ACCEPTED_BODY = {
  message: "If an account uses this address, a message is on its way to it",
};

/** Asserts a 202 of a `.../request` with its one body, and returns the raw text. */
export async function assertAccepted(res: Response): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, 202, text);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.deepEqual(JSON.parse(text), REQUEST_ACCEPTED_BODY);
  return text;
}

/** The user row of `email`, read straight from the database. */
export async function userRow(t: TestApp, email: string) {
  return await t.deps.db.selectFrom("users").selectAll().where("email", "=", email)
    .executeTakeFirstOrThrow();
}
