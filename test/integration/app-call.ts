// Calling the dashboard app in process (app.handle(new Request(…))) as a token's bearer: the
// request every API test makes, written once.

/** Calls `app` as the bearer of `token`, with `body` as JSON when given: the status and the JSON answer. */
export async function callApp(
  app: { handle(request: Request): Response | Promise<Response> },
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, any> }> {
  const res = await app.handle(
    new Request(`http://dashboard.test${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
  );
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
