/**
 * The JSON shape of an API key in responses; never its secret or hash.
 */
import type { Selectable } from "kysely";
import type { ApiKeysTable } from "../db/schema.ts";
import { iso } from "../services/user_view.ts";

/** The JSON shape of an API key; never the secret or its hash. */
export function apiKeyView(row: Selectable<ApiKeysTable>) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: JSON.parse(row.scopes) as string[],
    rate_limit_per_minute: row.rate_limit_per_minute,
    created_at: iso(row.created_at),
    expires_at: iso(row.expires_at),
    last_used_at: iso(row.last_used_at),
    revoked_at: iso(row.revoked_at),
  };
}
