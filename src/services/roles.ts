/** The account roles and which of them are administrators: the one role set of citadel. */
import type { Role } from "../db/schema.ts";

/** Every role, least privileged first. */
export const ROLES = ["user", "admin", "super_admin"] as const satisfies readonly Role[];

/** The roles that may use the admin API. */
export const ADMIN_ROLES: ReadonlySet<string> = new Set<Role>(["admin", "super_admin"]);

/** True only for the known admin roles; a missing or unknown role has no privileges. */
export function isAdminRole(role: string | undefined): boolean {
  return role !== undefined && ADMIN_ROLES.has(role);
}

/** Least privilege: only a super admin may act on a super admin or what it owns. */
export function mayActOn(actorRole: string, targetRole: string): boolean {
  return targetRole !== "super_admin" || actorRole === "super_admin";
}
