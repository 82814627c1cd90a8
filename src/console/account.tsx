/**
 * `/account`: the signed-in user's own page (placeholder until the sections land).
 */
import { Hono } from "hono";
import type { AppEnv } from "../app_types.ts";
import type { ConsoleKit } from "./kit.ts";
import { Page } from "./layout.tsx";
import { sessionOr } from "./pages.ts";

/** The account routes. */
export function accountRoutes(kit: ConsoleKit) {
  return new Hono<AppEnv>().get("/", async (c) => {
    const session = sessionOr(c);
    if (session instanceof Response) return session;
    return c.html(
      <Page title="Your account" ctx={await kit.pageContext(c)}>
        <p>{session.user.email}</p>
      </Page>,
    );
  });
}
