-- Generated from migrations/0009_email.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

alter table "users" add column "email_verified_at" integer;

create table "email_outbox" ("id" text primary key, "recipient" text not null, "subject" text not null, "text_body" text not null, "html_body" text not null, "kind" text not null, "created_at" integer not null, "attempts" integer default 0 not null, "next_attempt_at" integer not null, "lease_until" integer, "sent_at" integer, "failed_at" integer, "last_error" text, "message_id" text);

create index "email_outbox_due_idx" on "email_outbox" ("sent_at", "failed_at", "next_attempt_at");

create table "email_tokens" ("token_hash" text primary key, "user_id" text not null references "users" ("id") on delete cascade, "purpose" text not null, "new_email" text, "created_at" integer not null, "expires_at" integer not null, "used_at" integer);

create index "email_tokens_user_purpose_idx" on "email_tokens" ("user_id", "purpose");

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0009_email', 'fe010256b8b8d97becb9799fba660697e1f816b8cd95438f97b1a9e1fa210773', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
