-- Generated from migrations/0005_audit.ts by scripts/deploy/cloudflare/export_migrations.ts; do not edit.

create table if not exists "citadel_migrations" ("name" text primary key, "checksum" text not null, "applied_at" integer not null);

create table "audit_events" ("seq" integer primary key, "id" text not null unique, "occurred_at" integer not null, "actor_type" text not null check (actor_type IN ('user', 'api_key', 'system', 'anonymous')), "actor_id" text, "action" text not null, "target_type" text, "target_id" text, "outcome" text not null check (outcome IN ('success', 'failure', 'denied')), "ip" text, "user_agent" text, "request_id" text, "details" text default '{}' not null, "prev_hash" text not null, "hash" text not null unique);

create unique index "audit_events_prev_hash_idx" on "audit_events" ("prev_hash");

create index "audit_events_occurred_at_idx" on "audit_events" ("occurred_at");

create index "audit_events_actor_id_idx" on "audit_events" ("actor_id");

create index "audit_events_action_idx" on "audit_events" ("action");

create index "audit_events_outcome_idx" on "audit_events" ("outcome");

create table "audit_checkpoints" ("id" text primary key, "created_at" integer not null, "pruned_before" integer not null, "first_seq" integer not null, "last_seq" integer not null unique, "last_hash" text not null, "removed_count" integer not null, "signature" text not null);

create table "audit_prune_authorizations" ("up_to_seq" integer not null);

CREATE TRIGGER audit_events_append_only_insert BEFORE INSERT ON audit_events
    WHEN NEW.seq IS NOT COALESCE(
        (SELECT MAX(seq) FROM audit_events),
        (SELECT MAX(last_seq) FROM audit_checkpoints), 0) + 1
      OR NEW.prev_hash IS NOT COALESCE(
        (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1),
        (SELECT last_hash FROM audit_checkpoints ORDER BY last_seq DESC LIMIT 1),
        '0000000000000000000000000000000000000000000000000000000000000000')
    BEGIN SELECT RAISE(ABORT, 'audit_events: new row does not extend the chain head'); END;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_prune_authorizations WHERE OLD.seq <= up_to_seq)
    BEGIN SELECT RAISE(ABORT, 'audit_events is append-only; use citadel audit prune'); END;

CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;

create table "login_networks" ("user_id" text not null references "users" ("id") on delete cascade, "network" text not null, "first_seen_at" integer not null, "last_seen_at" integer not null, constraint "login_networks_pk" primary key ("user_id", "network"));

insert into "citadel_migrations" ("name", "checksum", "applied_at") values ('0005_audit', 'a6207057b628a1659329bb06f11223de7e60c876becd768b8f3f8ef3d46772fa', CAST(strftime('%s', 'now') AS INTEGER) * 1000);
