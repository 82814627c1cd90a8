-- Generated from migrations/0012_oauth.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "oauth_identities" ("id" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "provider" text not null, "subject" text not null, "email" text, "email_verified" integer not null, "tokens" text, "created_at" integer not null, "last_used_at" integer, constraint "oauth_identities_provider_subject" unique ("provider", "subject"));

create index "oauth_identities_user" on "oauth_identities" ("user_id");

create table "oauth_flows" ("state_hash" text primary key, "browser_hash" text not null, "provider" text not null, "code_verifier" text not null, "nonce" text not null, "redirect_to" text not null, "created_at" integer not null, "expires_at" integer not null);

create index "oauth_flows_expiry" on "oauth_flows" ("expires_at");

create table "oauth_codes" ("code_hash" text primary key, "kind" text not null, "provider" text not null, "subject" text not null, "email" text, "email_verified" integer not null, "name" text, "user_id" text references "users" ("id") on delete cascade, "tokens" text, "created_at" integer not null, "expires_at" integer not null);

create index "oauth_codes_expiry" on "oauth_codes" ("expires_at");

alter table "mfa_challenges" add column "first_factor" text;

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0012_oauth', '6ffd3c02e31b9e7e57d0f58bfe293a23b626080bc88e368fb7295c31b621d629', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
