// Progress lines on stderr with the elapsed time, so a 10-minute run never looks hung and
// stdout stays clean for the result table.
const started = performance.now();

/** Elapsed seconds as m:ss, rounded to the second first (59.6 s is "1:00", never "0:60"). */
export function elapsedStamp(seconds: number): string {
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function stamp(): string {
  return elapsedStamp((performance.now() - started) / 1000);
}

export function progress(message: string): void {
  process.stderr.write(`\x1b[2m[bench ${stamp()}]\x1b[0m ${message}\n`);
}

export function warnLine(message: string): void {
  process.stderr.write(`\x1b[33m[bench ${stamp()}] ${message}\x1b[0m\n`);
}
