-- Generated from migrations/0011_passkeys.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "passkeys" ("id" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "credential_id" text not null unique, "public_key" text not null, "counter" integer not null, "transports" text not null, "device_type" text not null, "backed_up" integer not null, "aaguid" text not null, "name" text not null, "created_at" integer not null, "last_used_at" integer, "suspended_at" integer);

create index "passkeys_user" on "passkeys" ("user_id");

create table "passkey_challenges" ("challenge_hash" text primary key, "purpose" text not null, "user_id" text, "bound_to" text, "created_at" integer not null, "expires_at" integer not null);

create index "passkey_challenges_expiry" on "passkey_challenges" ("expires_at");

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0011_passkeys', '6e48ac6b998a6aa75d60787289dd7a7592a9c587a5e9187d8e0eb3afdfda01df', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
