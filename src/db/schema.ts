import type { Generated, Insertable, Kysely, Selectable } from "kysely";

/** Times are stored as epoch milliseconds (UTC) in integer columns. */
export type EpochMs = number;
export type Role = "user" | "admin" | "super_admin";
export type UserStatus = "active" | "disabled";

export interface UsersTable {
  id: string;
  email: string;
  username: string | null;
  password_hash: string;
  name: string | null;
  role: Role;
  status: UserStatus;
  created_at: EpochMs;
  updated_at: EpochMs;
  last_login_at: EpochMs | null;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  created_at: EpochMs;
  last_used_at: EpochMs;
  expires_at: EpochMs;
  revoked_at: EpochMs | null;
  revoke_reason: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  session_id: string;
  issued_at: EpochMs;
  rotated_at: EpochMs | null;
}

export interface MigrationsTable {
  name: string;
  checksum: string;
  applied_at: EpochMs;
}

/** The whole schema as Kysely sees it. */
export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  citadel_migrations: MigrationsTable;
}

export type Db = Kysely<Database>;
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type { Generated };
