-- Generated from migrations/0008_mfa.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

alter table "users" add column "mfa_enabled_at" integer;

alter table "users" add column "recovery_codes_left" integer default 0 not null;

alter table "sessions" add column "amr" text;

alter table "sessions" add column "auth_time" integer;

create table "mfa_totp" ("user_id" text primary key references "users" ("id") on delete cascade, "secret" text not null, "created_at" integer not null, "confirmed_at" integer);

create table "mfa_totp_steps" ("user_id" text not null references "users" ("id") on delete cascade, "purpose" text not null, "last_step" integer not null, constraint "mfa_totp_steps_pk" primary key ("user_id", "purpose"));

create table "mfa_recovery_codes" ("code_hash" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "created_at" integer not null, "used_at" integer);

create index "mfa_recovery_codes_user_idx" on "mfa_recovery_codes" ("user_id");

create table "mfa_challenges" ("token_hash" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "created_at" integer not null, "expires_at" integer not null, "attempts" integer default 0 not null, "used_at" integer);

create index "mfa_challenges_expires_idx" on "mfa_challenges" ("expires_at");

create table "mfa_attempts" ("id" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "at" integer not null);

create index "mfa_attempts_user_at_idx" on "mfa_attempts" ("user_id", "at");

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0008_mfa', 'f95d7aecc1c087b1f9acca411b7f77aa9d7c06fec5c3f3ba23d6ef9ac9a12f98', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
