/**
 * `/admin/signing-keys`: the access-token signing keys and their states, as
 * `GET /api/v1/admin/keys` lists them (super admins only: an admin sees that it is theirs).
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "../app_types.ts";
import { failurePage, When } from "./admin_parts.tsx";
import type { ConsoleKit } from "./kit.ts";
import type { SigningKeyView } from "../services/signing_keys.ts";
import { Page } from "./layout.tsx";
import { api, sessionOr } from "./pages.ts";

/** A key as the admin API lists it. */
type SigningKey = SigningKeyView;

/** `GET /admin/signing-keys`. */
export function signingKeysPage(kit: ConsoleKit) {
  return async function signingKeysPageHandler(c: Context<AppEnv>) {
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    const answer = await api<{ algorithm: string; keys: SigningKey[] }>(
      kit,
      c,
      "GET",
      "/api/v1/admin/keys",
    );
    if (!answer.ok) {
      return await failurePage(
        kit,
        c,
        answer,
        "/admin/signing-keys",
        "Only a super admin can see the signing keys.",
      );
    }
    return c.html(
      <Page title="Signing keys" ctx={await kit.pageContext(c)}>
        <p>
          Access tokens are signed with <code>{answer.body.algorithm}</code>.{" "}
          {answer.body.algorithm === "HS256"
            ? "The keys are JWT_SECRET_KEY (and JWT_SECRET_KEY_PREVIOUS) in the configuration."
            : "Rotate or retire them with citadel keys or the admin API."}
        </p>
        <div class="table">
          <table>
            <caption class="visually-hidden">Signing keys</caption>
            <thead>
              <tr>
                <th scope="col">Key id</th>
                <th scope="col">Algorithm</th>
                <th scope="col">State</th>
                <th scope="col">Created</th>
                <th scope="col">Active since</th>
                <th scope="col">Expires</th>
                <th scope="col">Retired</th>
              </tr>
            </thead>
            <tbody>
              {answer.body.keys.map((key) => (
                <tr>
                  <td>
                    <code>{key.kid}</code>
                  </td>
                  <td>{key.algorithm}</td>
                  <td>{key.state}</td>
                  <td>
                    <When iso={key.created_at} empty="in the configuration" />
                  </td>
                  <td>
                    <When iso={key.activated_at} />
                  </td>
                  <td>
                    <When iso={key.expires_at} empty="never" />
                  </td>
                  <td>
                    <When iso={key.retired_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Page>,
    );
  };
}
