-- Generated from migrations/0013_oauth_code_browser.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

alter table "oauth_codes" add column "browser_hash" text;

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0013_oauth_code_browser', '23e086c80e97abb403d1cffaad17714586df0033601b5efeaa4d1c08e84b2ee5', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
