// Bench only: the "encryption off" side of the bench's on/off comparison (issue #10), loaded
// with `bun --preload` into a service the bench starts. Services have no setting that turns
// encryption off, on purpose: an operator cannot store patient data in clear by a mistyped
// variable. This plugin swaps the cipher of shared/crypto/envelope.ts as the module is loaded:
// `seal` writes version 0 (a zero byte, then the plaintext) instead of XAES-256-GCM, and `open`
// returns such a value as is (anything else it opens as before). Everything else runs as in
// production (the same bytea columns and blind indexes, the same SQL), so on/off differ by the
// cipher's work and nothing more. JetStream's store cipher is off in the same runs (cluster.ts).
import { plugin } from "bun";

const CLEAR = `
/** Bench only (ops/bench/no-encryption.ts): not encrypted. */
export function seal(_keyring: Keyring, _purpose: string, plaintext: Uint8Array | string): Buffer {
  const bytes = typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext;
  const out = Buffer.allocUnsafe(bytes.length + 1);
  out[0] = 0;
  out.set(bytes, 1);
  return out;
}

export function open(keyring: Keyring, purpose: string, sealed: Uint8Array): Buffer {
  return sealed[0] === 0 ? Buffer.from(sealed.subarray(1)) : sealEncryptedOpen(keyring, purpose, sealed);
}
`;

plugin({
  name: "hookline-bench-no-encryption",
  setup(build) {
    build.onLoad({ filter: /shared\/crypto\/envelope\.ts$/ }, async (args) => {
      const source = await Bun.file(args.path).text();
      const renamed = source
        .replace("export function seal(", "export function sealEncrypted(")
        .replace("export function open(", "function sealEncryptedOpen(");
      // A changed envelope.ts must fail the bench loudly, never measure encryption as "off".
      if (!renamed.includes("function sealEncrypted(") || !renamed.includes("function sealEncryptedOpen("))
        throw new Error("ops/bench/no-encryption.ts: shared/crypto/envelope.ts no longer has seal() and open()");
      // Function declarations are hoisted: openText and the rest call the clear open.
      return { contents: `${renamed}\n${CLEAR}`, loader: "ts" };
    });
  },
});
