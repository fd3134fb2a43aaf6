// Gzip for large answers, for clients that accept it. The measured reason is Bun's, not the
// network's: Bun 1.4.5 corks an answer's writes only while the request handler runs
// synchronously, and an answer that leaves after an await on real I/O (every API answer waits
// for Postgres) and does not fit its 16 kB cork buffer is written uncorked, one send() for each
// piece of its head: the status, then each header's name, ": ", value and CRLF (40 TCP
// segments for a 50-row patient page with the security headers; oven-sh/bun#41341). Those sends
// took a fifth of the dashboard's CPU under a search load (perf), and the client reads each
// segment. Gzipped at level 1, the same 27 kB page is 5 kB, costs 33 µs to compress and leaves
// in one send. Smaller answers already leave whole, so they are sent as they are.
import { Elysia } from "elysia";

export interface CompressionOptions {
  /** Bodies below this many bytes are sent as they are (default 8 kB). */
  minBytes?: number;
  /** zlib level, 1-9 (default 1: most of the size gain for the least CPU). */
  level?: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
}

/** Text answers: JSON, HTML, script, style. Images and the like are already compressed, or tiny. */
const COMPRESSIBLE = /^(application\/(json|javascript)|text\/)/i;

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
 * the request accepts gzip, and marks it (Content-Encoding, Vary: Accept-Encoding). The answer
 * keeps its status and other headers.
 *
 * @example
 * const app = new Elysia().use(compressAnswers()).get("/patients", () => json(page));
 * const res = await app.handle(new Request("http://x/patients", { headers: { "accept-encoding": "gzip" } }));
 * res.headers.get("content-encoding"); // "gzip" when the page is 8 kB or more
 */
export function compressAnswers(options: CompressionOptions = {}) {
  const minBytes = options.minBytes ?? 8 * 1024;
  const level = options.level ?? 1;
  return new Elysia({ name: "compression" }).wrap((handle, request) => async (...args: unknown[]) => {
    const response = (await handle(...args)) as unknown as Response;
    if (!compressible(request, response)) return response;
    const body = new Uint8Array(await response.arrayBuffer());
    const headers = new Headers(response.headers);
    if (body.byteLength < minBytes) return new Response(body, { status: response.status, headers });
    headers.set("content-encoding", "gzip");
    headers.delete("content-length");
    headers.set("vary", headers.has("vary") ? `${headers.get("vary")}, Accept-Encoding` : "Accept-Encoding");
    return new Response(Bun.gzipSync(body, { level }), { status: response.status, headers });
  });
}

function compressible(request: Request, response: Response): boolean {
  return (
    request.method !== "HEAD" &&
    response.body !== null &&
    response.status !== 204 &&
    response.status !== 304 &&
    !response.headers.has("content-encoding") &&
    COMPRESSIBLE.test(response.headers.get("content-type") ?? "") &&
    acceptsGzip(request.headers.get("accept-encoding"))
  );
}
