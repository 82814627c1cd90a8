-- Generated from migrations/0006_login_history.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "login_history" ("email" text not null, "ip_key" text not null, "last_success_at" integer not null, constraint "login_history_pk" primary key ("email", "ip_key"));

create index "login_history_time_idx" on "login_history" ("last_success_at");

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0006_login_history', 'e0d9cc7de858d2b13c881a942227fae0cb5b48b8db34a8eadc0e838bfbc2289e', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
