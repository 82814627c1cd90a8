/**
 * A user's passkeys on `/admin/users/:id`, as `GET /api/v1/admin/users/:id/passkeys` lists
 * them: how many (and how many a counter regression suspended), which (a suspended one marked
 * as a possible copy), and a Remove (`DELETE /api/v1/admin/users/:id/passkeys/:passkeyId`)
 * where the viewer may remove them: an administrator's passkeys are a super admin's to remove,
 * and one's own are removed on /account (from here, removing one would end one's own console
 * session with the user's others).
 * @module
 */
import type { AdminPasskeyView } from "../services/passkeys.ts";
import type { AdminUser } from "./admin_users.tsx";
import { Csrf, type PageContext } from "./layout.tsx";
import { PasskeyTable } from "./passkey_parts.tsx";

/** "N", or "N (k suspended)" when a counter regression suspended some. */
export function passkeyCount(passkeys: AdminPasskeyView[]): string {
  const suspended = passkeys.filter((p) => p.suspended_at !== null).length;
  return suspended > 0 ? `${passkeys.length} (${suspended} suspended)` : String(passkeys.length);
}

const isAdministrator = (role: string) => role === "admin" || role === "super_admin";

/**
 * Why the viewer gets no Remove buttons on this user's passkeys, or undefined when they do:
 * one's own account (removing from here would end one's own console session), or an
 * administrator's passkeys seen by an `admin` (the API lets only a super admin remove them).
 */
function removalBar(viewer: PageContext["user"], user: AdminUser) {
  if (viewer?.id === user.id) {
    return (
      <p>
        These are your own passkeys: rename or remove them on <a href="/account">your account</a>.
      </p>
    );
  }
  if (viewer?.role !== "super_admin" && isAdministrator(user.role)) {
    return <p>Only a super admin can remove an administrator's passkeys.</p>;
  }
  return undefined;
}

/** A user's passkeys (a suspended one marked), each with its remove form where it can work. */
export function AdminPasskeys(
  props: { user: AdminUser; passkeys: AdminPasskeyView[]; ctx: PageContext },
) {
  const { user, passkeys, ctx } = props;
  if (passkeys.length === 0) return <p>No passkeys.</p>;
  const barred = removalBar(ctx.user, user);
  // Without TOTP, the last passkey is the second factor: after it, the password alone.
  const last = passkeys.length === 1 && !user.mfa_enabled;
  return (
    <>
      <PasskeyTable
        passkeys={passkeys}
        note={(p) => p.suspended_at !== null ? "suspended (possible copy)" : undefined}
        actions={(p) =>
          barred ? null : (
            <form
              method="post"
              action={`/admin/users/${user.id}/passkeys/${p.id}/remove`}
              data-confirm={`Remove the passkey "${p.name}" of ${user.email}? It will no longer ` +
                "sign them in" +
                (last
                  ? ", and as it is their only second factor, the password alone will then sign " +
                    "them in. "
                  : ". ") +
                "All their sessions end (they sign in again)."}
            >
              <Csrf token={ctx.csrf} />
              <button type="submit" class="danger">Remove</button>
            </form>
          )}
      />
      {barred}
    </>
  );
}
