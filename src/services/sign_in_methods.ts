/**
 * The rule that an account keeps a way to sign in: a password, a passkey or a linked provider
 * identity. It is asked inside the transaction that has just removed one of them, after the
 * removal, so two concurrent removals (each seeing the other's method) cannot leave none: the
 * second one's check sees the first one's delete, or waits for it.
 */
import type { Db } from "../db/schema.ts";
import { problem } from "../errors.ts";
import { hasPassword } from "./passwords.ts";

/** Throws 409 `last_sign_in_method` (rolling the caller's transaction back) when none is left. */
export async function assertSignInRemains(trx: Db, userId: string): Promise<void> {
  const user = await trx.selectFrom("users").select("password_hash").where("id", "=", userId)
    .executeTakeFirstOrThrow();
  if (hasPassword(user.password_hash)) return;
  const count = async (table: "passkeys" | "oauth_identities") =>
    Number(
      (await trx.selectFrom(table).select((eb) => eb.fn.countAll().as("n"))
        .where("user_id", "=", userId).executeTakeFirstOrThrow()).n,
    );
  if (await count("passkeys") > 0 || await count("oauth_identities") > 0) return;
  throw problem("last_sign_in_method", {
    detail: "This is your only way to sign in: set a password (reset it by email) or add a " +
      "passkey first",
  });
}
