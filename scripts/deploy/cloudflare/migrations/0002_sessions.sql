-- Generated from migrations/0002_sessions.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "sessions" ("id" text primary key, "user_id" text not null, "created_at" integer not null, "last_used_at" integer not null, "expires_at" integer not null, "revoked_at" integer, "revoke_reason" text, "ip" text, "user_agent" text);

create index "sessions_user_idx" on "sessions" ("user_id");

create index "sessions_revoked_idx" on "sessions" ("revoked_at");

create table "refresh_tokens" ("token_hash" text primary key, "session_id" text not null references "sessions" ("id") on delete cascade, "issued_at" integer not null, "rotated_at" integer);

create index "refresh_tokens_session_idx" on "refresh_tokens" ("session_id");

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0002_sessions', 'ddae4cfd2d6c696abd5d6edabab6be098139e4978a6dc8cde2d750aca8ee81c8', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
