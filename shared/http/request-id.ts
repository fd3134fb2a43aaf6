// A request id for every HTTP request: the caller's (or its proxy's) X-Request-Id when it is
// well formed, else a new UUID; echoed in the response's X-Request-Id and written on every
// log line of that request (createLogger's `requestId` reads it), so a caller's report, a
// proxy's access log and the service's log lines meet on one value.
import { AsyncLocalStorage } from "node:async_hooks";
import { Elysia } from "elysia";

/** Printable, no spaces or quotes, at most 128: safe to echo in a header and to log as is. */
const WELL_FORMED = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** `plugin()` assigns, echoes and scopes the id; `current()` reads it in any code the request runs. */
export function createRequestIds() {
  const storage = new AsyncLocalStorage<string>();
  return {
    current: (): string | undefined => storage.getStore(),
    plugin: () =>
      new Elysia({ name: "request-id" })
        // wrap() surrounds the whole handling: hooks, handler and error handlers run with the id.
        .wrap((handle, request) => (...args: unknown[]) => {
          const incoming = request.headers.get("x-request-id");
          const id = incoming !== null && WELL_FORMED.test(incoming) ? incoming : crypto.randomUUID();
          return storage.run(id, async () => {
            const response = (await handle(...args)) as unknown as Response;
            response.headers.set("x-request-id", id);
            return response;
          });
        }),
  };
}
