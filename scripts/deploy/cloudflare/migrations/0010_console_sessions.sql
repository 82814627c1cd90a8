-- Generated from migrations/0010_console_sessions.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "console_sessions" ("token_hash" text primary key, "session_id" text not null unique references "sessions" ("id") on delete cascade, "created_at" integer not null, "last_seen_at" integer not null, "expires_at" integer not null, "idle_ms" integer not null);

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0010_console_sessions', 'eed2026e88f52d298c5504dfebfee7ae3aaaf56cdb6f1d5007a303218f0c932e', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
