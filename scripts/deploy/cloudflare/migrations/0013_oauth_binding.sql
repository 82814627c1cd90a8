-- Generated from migrations/0013_oauth_binding.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

alter table "oauth_codes" add column "browser_hash" text;

alter table "oauth_codes" add column "app_challenge" text;

alter table "oauth_flows" add column "app_challenge" text;

alter table "oauth_flows" add column "max_age" integer;

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0013_oauth_binding', 'a7c145c22760a90ab872344bd6668e7d4a340dba93726c25d590d0e51f66184c', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
