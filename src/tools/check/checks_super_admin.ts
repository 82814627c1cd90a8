/**
 * The `citadel check` findings about the bootstrap super admin and the admin accounts (CIT-010
 * to CIT-014).
 */
import { bootstrapPasswordErrors } from "../../services/bootstrap_admin.ts";
import { type CheckContext, type CheckDefinition, defineCheck, type Detail } from "./types.ts";

/** Names attackers try first on every login form. */
const GUESSABLE_ADMIN_NAMES = new Set([
  "admin",
  "administrator",
  "root",
  "superadmin",
  "super_admin",
  "sysadmin",
  "sa",
]);

/** More super admins than this is a wide blast radius for one stolen password. */
export const MAX_SUPER_ADMINS = 3;
/** An admin account unused for this many days is a dormant target. */
export const ADMIN_IDLE_DAYS = 90;
const DAY_MS = 86_400_000;

function isGuessable(login: string): boolean {
  const local = login.trim().toLowerCase().split("@")[0];
  return GUESSABLE_ADMIN_NAMES.has(local);
}

function usersTable(context: CheckContext) {
  const database = context.database;
  return database?.tables.has("users") ? database.db : undefined;
}

async function guessableNames(context: CheckContext): Promise<Detail[]> {
  const details: Detail[] = [];
  const configured = context.config.superAdmin.username;
  if (configured && isGuessable(configured)) {
    details.push({
      found: `SUPER_ADMIN_USERNAME is "${configured}", the first name attackers try`,
      setting: "SUPER_ADMIN_USERNAME",
    });
  }
  const db = usersTable(context);
  if (db) {
    const admins = await db.selectFrom("users").select(["username", "email"])
      .where("role", "in", ["admin", "super_admin"]).where("status", "=", "active").execute();
    const named = admins.filter((a) => isGuessable(a.username ?? a.email));
    if (named.length > 0) {
      details.push({
        found: `${named.length} active admin account(s) named ${
          [...new Set(named.map((a) => a.username ?? a.email))].map((n) => `"${n}"`).join(", ")
        }`,
        fix:
          "Create an admin with a personal name (`citadel admin create --email you@example.com " +
          "--role super_admin`), then disable the generic account",
      });
    }
  }
  return details;
}

async function weakPassword(context: CheckContext): Promise<Detail[]> {
  const password = context.config.superAdmin.password;
  if (!password) return [];
  const errors = await bootstrapPasswordErrors(password, {
    username: context.config.superAdmin.username,
    minLength: context.config.passwordMinLength,
  });
  if (errors.length === 0) return [];
  return [{
    found: `SUPER_ADMIN_PASSWORD fails the password policy (${
      errors.map((e) => e.code).join(", ")
    })`,
    setting: "SUPER_ADMIN_PASSWORD",
  }];
}

async function superAdminCount(context: CheckContext): Promise<number | undefined> {
  const db = usersTable(context);
  if (!db) return undefined;
  const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n"))
    .where("role", "=", "super_admin").where("status", "=", "active").executeTakeFirstOrThrow();
  return Number(row.n);
}

async function idleAdmins(context: CheckContext): Promise<Detail[]> {
  const db = usersTable(context);
  if (!db) return [];
  const cutoff = context.now - ADMIN_IDLE_DAYS * DAY_MS;
  const idle = await db.selectFrom("users").select(["email", "last_login_at", "created_at"])
    .where("role", "in", ["admin", "super_admin"]).where("status", "=", "active")
    .where((eb) => eb(eb.fn.coalesce("last_login_at", "created_at"), "<", cutoff))
    .orderBy("email").execute();
  if (idle.length === 0) return [];
  const shown = idle.slice(0, 5).map((u) => u.email).join(", ");
  const more = idle.length > 5 ? ` and ${idle.length - 5} more` : "";
  return [{
    found:
      `${idle.length} admin account(s) without a login in ${ADMIN_IDLE_DAYS} days: ${shown}${more}`,
  }];
}

/** The bootstrap super admin and the admin accounts in the database. */
export const SUPER_ADMIN_CHECKS: CheckDefinition[] = [
  defineCheck({
    id: "CIT-010",
    severity: "medium",
    group: "super_admin",
    title: "Super admin uses a guessable username",
    fix: "Set SUPER_ADMIN_USERNAME to a personal email address, e.g. ops-lead@example.com",
    run: guessableNames,
  }),
  defineCheck({
    id: "CIT-011",
    severity: "critical",
    group: "super_admin",
    title: "SUPER_ADMIN_PASSWORD is weak or common",
    fix: "Set SUPER_ADMIN_PASSWORD to a long random passphrase, or unset it and run " +
      "`citadel admin reset-password --email <admin>` after the first start",
    run: weakPassword,
  }),
  defineCheck({
    id: "CIT-012",
    severity: "high",
    group: "super_admin",
    title: "No active super admin in the database",
    fix: "Run `citadel admin create --email you@example.com --role super_admin`, or start " +
      "`citadel serve` once with SUPER_ADMIN_USERNAME and SUPER_ADMIN_PASSWORD set",
    async run(context) {
      const count = await superAdminCount(context);
      return count === 0
        ? [{ found: "the users table has no active account with role super_admin" }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-013",
    severity: "medium",
    group: "super_admin",
    title: `More than ${MAX_SUPER_ADMINS} super admins`,
    fix: "Give day-to-day administrators role admin; keep super_admin for two or three people",
    async run(context) {
      const count = await superAdminCount(context);
      return count !== undefined && count > MAX_SUPER_ADMINS
        ? [{ found: `${count} active super admins` }]
        : [];
    },
  }),
  defineCheck({
    id: "CIT-014",
    severity: "low",
    group: "super_admin",
    title: "Admin accounts without a recent login",
    fix: "Disable admin accounts nobody uses (PATCH /api/v1/admin/users/<id> with " +
      '{"status":"disabled"}), or demote them to role user',
    run: idleAdmins,
  }),
  defineCheck({
    id: "CIT-015",
    severity: "high",
    group: "super_admin",
    title: "Administrators may sign in without a second factor",
    fix: "Set REQUIRE_MFA_FOR_ADMINS=true once every admin has enrolled (POST " +
      "/api/v1/me/mfa/totp); until then admins without MFA get 403 mfa_enrollment_required",
    run(context) {
      return Promise.resolve(
        context.config.appEnv === "production" && !context.config.mfa.requireForAdmins
          ? [{
            found: "REQUIRE_MFA_FOR_ADMINS is false in production",
            setting: "REQUIRE_MFA_FOR_ADMINS",
          }]
          : [],
      );
    },
  }),
];
