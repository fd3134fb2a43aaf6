// The error contract: every error is JSON {"error":{"code","message"}} with a status.
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/**
 * The JSON Schema of errorResponse's body, for both OpenAPI documents (services/ingress/openapi.ts,
 * services/dashboard/openapi.ts); `codes`, when given, are the codes a status may carry.
 */
export const errorBodySchema = (codes?: readonly string[]) => ({
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "string", ...(codes ? { enum: [...codes] } : {}) }, message: { type: "string" } },
    },
  },
});

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}
