-- Generated from migrations/0001_users.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "users" ("id" text primary key check (length(id) = 36), "email" text not null unique, "username" text unique, "password_hash" text not null, "name" text, "role" text default 'user' not null check (role IN ('user', 'admin', 'super_admin')), "status" text default 'active' not null check (status IN ('active', 'disabled')), "created_at" integer not null, "updated_at" integer not null, "last_login_at" integer);

create index "users_role_idx" on "users" ("role");

create index "users_created_idx" on "users" ("created_at", "id");

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0001_users', '71c74b6656203ea0b757059c88f4571a7e9f1811b83b556e7285480f39ca6385', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
