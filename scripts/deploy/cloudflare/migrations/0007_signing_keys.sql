-- Generated from migrations/0007_signing_keys.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "signing_keys" ("kid" text primary key, "algorithm" text not null check (algorithm IN ('EdDSA', 'ES256')), "state" text not null check (state IN ('next', 'current', 'previous', 'retired')), "public_jwk" text not null, "private_key" text not null, "created_at" integer not null, "activated_at" integer, "deactivated_at" integer, "expires_at" integer, "retired_at" integer);

create unique index "signing_keys_one_per_state" on "signing_keys" ("state") where "state" in ('next', 'current');

create table "hs256_secrets" ("kid" text primary key, "first_signed_at" integer not null);

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0007_signing_keys', '965afeb7da490c9183ba02d978e0ab9c1e7fb389981a8625f0926ae38a2067c6', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
