// Calls to the dashboard API. The token lives in this module's variable only, for the life of
// the page: never in localStorage, sessionStorage or a cookie, where any script on the origin
// could read it later.

let token = "";
let onUnauthorized: () => void = () => {};

export const signIn = (value: string) => {
  token = value;
};
export const signOut = () => {
  token = "";
};
export const signedIn = () => token !== "";
export const whenUnauthorized = (fn: () => void) => {
  onUnauthorized = fn;
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** JSON from the API, or an ApiError with its code and message (a 401 also signs out). */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network", "the dashboard did not answer");
  }
  const data = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok) {
    if (res.status === 401) {
      token = "";
      onUnauthorized();
    }
    throw new ApiError(res.status, data.error?.code ?? "error", data.error?.message ?? res.statusText);
  }
  return data as T;
}
