/**
 * The JSON shape of an API key in responses; never its secret or hash. Its zod schema describes
 * that shape for the OpenAPI description (the owner's routes and, extended with `user_id`, the
 * admin's).
 */
import type { Selectable } from "kysely";
import * as z from "zod";
import type { ApiKeysTable } from "../db/schema.ts";
import { API_KEY_SCOPES } from "../services/api_keys.ts";
import { iso } from "../services/user_view.ts";
import { moment } from "./response_schemas.ts";

/** An API key as {@linkcode apiKeyView} shows it. */
export const apiKeySchema = z.object({
  id: z.uuid(),
  name: z.string(),
  /** The key's first characters, to recognise it; not enough to use it. */
  prefix: z.string(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
  /** The key's own limit; null means the operator's default. */
  rate_limit_per_minute: z.number().int().nullable(),
  created_at: moment,
  // Keys always expire (API_KEY_MAX_LIFETIME_DAYS).
  expires_at: moment,
  last_used_at: moment.nullable(),
  revoked_at: moment.nullable(),
}).strict();

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
