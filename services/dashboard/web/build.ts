// Bundles the page (main.ts and the CSS it imports, uPlot's included) with Bun's bundler.
// Imported by page.ts as a macro, so it runs when page.ts is transpiled: at start-up for
// `bun services/dashboard/main.ts`, and once at build time for the compiled executable
// (ops/build), whose page is then embedded and needs no sources at run time. A macro cannot
// call Bun.build (the bundler waits for the macro), so it runs `bun build` as the bundler's docs
// advise. Nothing here reads the environment: no secret can reach the bundle.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PageAssets {
  js: string;
  css: string;
}

export function bundlePage(): PageAssets {
  const out = mkdtempSync(join(tmpdir(), "hookline-page-"));
  try {
    const built = Bun.spawnSync(
      [process.execPath, "build", join(import.meta.dir, "main.ts"), "--target=browser", "--minify", "--outdir", out],
      { env: { PATH: process.env.PATH ?? "" } },
    );
    if (built.exitCode !== 0)
      throw Object.assign(new Error(`the page did not build: ${built.stderr.toString()}`), {
        code: "page_build_failed",
      });
    const files = readdirSync(out);
    const read = (ext: string) =>
      files
        .filter((f) => f.endsWith(ext))
        .map((f) => readFileSync(join(out, f), "utf8"))
        .join("\n");
    return { js: read(".js"), css: read(".css") };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
