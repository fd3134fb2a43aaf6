// The dashboard's roles, lowest first: each may do everything of the roles below it.
// viewer reads (patients masked in lists, whole when one is opened); editor also changes
// patient data (resolving conflicts); admin also reads raw webhook payloads and runs the
// source preview. Which route needs which role: services/dashboard/access.ts.
export const ROLES = ["viewer", "editor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role => (ROLES as readonly unknown[]).includes(value);

/** Whether `role` includes everything `needed` may do. */
export const hasRole = (role: Role, needed: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(needed);
