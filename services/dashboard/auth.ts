import { createHash, timingSafeEqual } from "node:crypto";

export type Role = "admin" | "viewer";

export interface Principal {
  role: Role;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Parses "token=role,token2=role2"; tokens are kept only as digests. */
export function parseTokens(spec: string): { digest: Buffer; role: Role }[] {
  return spec
    .split(",")
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.lastIndexOf("=");
      const token = eq < 0 ? pair : pair.slice(0, eq);
      const role = (eq < 0 ? "admin" : pair.slice(eq + 1)) as Role;
      if (role !== "admin" && role !== "viewer") throw new Error(`unknown role "${role}" in DASHBOARD_API_TOKENS`);
      return { digest: digest(token), role };
    });
}

/** Matches a bearer header against the tokens in constant time (digests have equal length). */
export function authenticateBearer(header: string | null, tokens: { digest: Buffer; role: Role }[]): Principal | null {
  if (!header?.startsWith("Bearer ")) return null;
  const presented = digest(header.slice(7).trim());
  let match: Principal | null = null;
  for (const t of tokens) if (timingSafeEqual(presented, t.digest)) match = { role: t.role };
  return match;
}
