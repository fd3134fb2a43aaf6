// Reading a webhook body with the source's size limit enforced while reading. A body sent
// chunked (no Content-Length) declares no size, so the declared-size check cannot refuse it
// and reading it whole first would buffer whatever the sender streams: it is read as a
// stream, counting bytes, and abandoned as soon as it passes the limit.

/** The body's bytes, or undefined when it is longer than `limit` (the rest is never read). */
export async function readBodyWithin(request: Request, limit: number): Promise<Uint8Array | undefined> {
  // With a Content-Length (already checked against the limit) and no Transfer-Encoding, the
  // HTTP parser delivers exactly that many bytes: the one native read is the fast path.
  if (request.headers.has("content-length") && !request.headers.has("transfer-encoding"))
    return new Uint8Array(await request.arrayBuffer());
  const stream = request.body;
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
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
