-- Generated from migrations/0004_api_keys.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "api_keys" ("id" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "name" text not null, "prefix" text not null, "scopes" text not null check (json_valid(scopes)), "rate_limit_per_minute" integer, "created_at" integer not null, "expires_at" integer not null, "last_used_at" integer, "last_used_ip" text, "revoked_at" integer);

create index "api_keys_user_idx" on "api_keys" ("user_id");

create table "api_key_secrets" ("key_hash" text primary key, "api_key_id" text not null references "api_keys" ("id") on delete cascade, "created_at" integer not null, "retired_at" integer);

create index "api_key_secrets_key_idx" on "api_key_secrets" ("api_key_id");

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0004_api_keys', 'b2d66340fa52d5779a2fb0e177c2fd078e577bd438972bb542adfe50f350261c', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
