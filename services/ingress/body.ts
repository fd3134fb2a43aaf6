// Reading a webhook body with the source's size limit enforced while reading. A body sent
// chunked (no Content-Length) declares no size, so the declared-size check cannot refuse it
// and reading it whole first would buffer whatever the sender streams: it is read as a
// stream, counting bytes, and abandoned as soon as it passes the limit.

//
// The whole body must also arrive within a deadline: it is read before authentication, so a
// sender trickling a byte now and then (Bun's idle timeout restarts with each one) would
// otherwise hold one of the MAX_IN_FLIGHT slots indefinitely, and a few such connections would
// get every real webhook shed with 503 overloaded.

/**
 * How long a body may take to arrive whole. A form tool's body of at most a few MiB takes well
 * under a second; 30 s leaves room for a slow link.
 */
export const BODY_TIMEOUT_MS = 30_000;

/** The body did not arrive whole within the deadline. */
export class BodyTimeoutError extends Error {
  readonly code = "body_timeout";
}

/**
 * The body's bytes, or undefined when it is longer than `limit` (the rest is never read).
 * Rejects with BodyTimeoutError when it has not arrived whole within `timeoutMs`.
 */
export async function readBodyWithin(
  request: Request,
  limit: number,
  timeoutMs: number,
): Promise<Uint8Array | undefined> {
  const reading = { cancel: () => {} };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Stop pulling (chunked path): the connection is answered and the rest not buffered.
      reading.cancel();
      reject(new BodyTimeoutError(`the body did not arrive whole within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  return Promise.race([readBody(request, limit, reading), deadline]).finally(() => clearTimeout(timer));
}

async function readBody(
  request: Request,
  limit: number,
  reading: { cancel: () => void },
): Promise<Uint8Array | undefined> {
  // With a Content-Length (already checked against the limit) and no Transfer-Encoding, the
  // HTTP parser delivers exactly that many bytes: the one native read is the fast path.
  if (request.headers.has("content-length") && !request.headers.has("transfer-encoding"))
    return new Uint8Array(await request.arrayBuffer());
  const stream = request.body;
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  reading.cancel = () => reader.cancel().catch(() => {});
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength;
    if (size > limit) {
      // Stop pulling: the connection is answered (413) and closed, the rest is not buffered.
      reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(r.value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}
