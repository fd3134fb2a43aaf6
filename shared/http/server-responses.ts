// Answers Bun's HTTP server gives before any route runs, to a request to any route: every
// operation of both OpenAPI documents lists them (services/ingress/openapi.ts,
// services/dashboard/openapi.ts), so a client, or schemathesis, is not told a status is impossible.
export const SERVER_RESPONSES = {
  431: { description: "the request line or headers exceed the HTTP server's limit (answered by Bun, with no body)" },
} as const;
