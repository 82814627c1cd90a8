-- Generated from migrations/0003_counters.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "counters" ("key" text primary key, "count" integer not null, "reset_at" integer not null);

create index "counters_reset_idx" on "counters" ("reset_at");

create table "blocks" ("key" text primary key, "until" integer not null);

create index "blocks_until_idx" on "blocks" ("until");

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0003_counters', '84d251bf053d2030cd5ff46adeba714d601de47bb2be0b73eff39b9eb9281ca1', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
