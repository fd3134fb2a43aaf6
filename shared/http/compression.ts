// Gzip for large answers, for clients that accept it. The measured reason is Bun's as much as
// the network's: Bun 1.4.5 corks an answer's writes only while the request handler runs
// synchronously, and an answer that leaves after an await on real I/O (every API answer waits
// for Postgres) and does not fit its 16 kB cork buffer is written uncorked, one send() for each
// piece of its head: the status, then each header's name, ": ", value and CRLF (39 sends for a
// 50-row patient page with the security headers, the body included; oven-sh/bun#41341). Those
// sends took a fifth of the dashboard's CPU under a search load (perf), and the client reads
// each segment. Gzipped at level 1, the same 27 kB page is 5 kB, costs 33 µs to compress and
// leaves in one send. From 8 kB rather than 16: an answer of 8-16 kB already leaves in one send,
// but over a real network a fifth of the bytes is worth the 10-20 µs.
import { Elysia } from "elysia";

export interface CompressionOptions {
  /** Bodies below this many bytes are sent as they are (default 8 kB). */
  minBytes?: number;
  /** zlib level, 1-9 (default 1: most of the size gain for the least CPU). */
  level?: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
}

/** Text answers: JSON, HTML, script, style. Images and the like are already compressed, or tiny. */
const COMPRESSIBLE = /^(application\/(json|javascript)|text\/)/i;
/** Server-sent events are text too, but a stream that never ends: never buffered here. */
const STREAMED = /^text\/event-stream/i;

/**
 * Whether an Accept-Encoding header allows gzip: "gzip" or "*" listed without q=0 (RFC 9110
 * 12.5.3). A "*;q=0" refuses what is not listed, so "gzip" must then be listed itself.
 */
export function acceptsGzip(header: string | null): boolean {
  if (!header) return false;
  let star = false;
  for (const part of header.split(",")) {
    const [name, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    const allowed = q === undefined || Number(q.slice(2)) > 0;
    if (name === "gzip" || name === "x-gzip") return allowed;
    if (name === "*") star = allowed;
  }
  return star;
}

/**
 * Gzips every answer of the app it is used in whose body is text of at least `minBytes`, when
 * the request accepts gzip (Content-Encoding: gzip). Every text answer says Vary:
 * Accept-Encoding, compressed or not, since that header decides which it gets. The answer keeps
 * its status and other headers.
 *
 * @example
 * const app = new Elysia().use(compressAnswers()).get("/patients", () => json(page));
 * const res = await app.handle(new Request("http://localhost/patients", { headers: { "accept-encoding": "gzip" } }));
 * res.headers.get("content-encoding"); // "gzip" when the page is 8 kB or more
 */
export function compressAnswers(options: CompressionOptions = {}) {
  const minBytes = options.minBytes ?? 8 * 1024;
  const level = options.level ?? 1;
  // The seed: Elysia keeps one plugin of a name, unless their seeds differ.
  return new Elysia({ name: "compression", seed: options }).wrap((handle, request) => async (...args: unknown[]) => {
    const response = (await handle(...args)) as unknown as Response;
    if (!textBody(response)) return response;
    const headers = new Headers(response.headers);
    headers.set("vary", headers.has("vary") ? `${headers.get("vary")}, Accept-Encoding` : "Accept-Encoding");
    const { status, statusText } = response;
    if (!acceptsGzip(request.headers.get("accept-encoding")))
      return new Response(response.body, { status, statusText, headers });
    const body = new Uint8Array(await response.arrayBuffer());
    if (body.byteLength < minBytes) return new Response(body, { status, statusText, headers });
    headers.set("content-encoding", "gzip");
    headers.delete("content-length");
    return new Response(Bun.gzipSync(body, { level }), { status, statusText, headers });
  });
}

/** A text body not already encoded (a HEAD's, a 204's and a 304's answer have none). */
function textBody(response: Response): boolean {
  const type = response.headers.get("content-type") ?? "";
  return (
    response.body !== null &&
    !response.headers.has("content-encoding") &&
    COMPRESSIBLE.test(type) &&
    !STREAMED.test(type)
  );
}
