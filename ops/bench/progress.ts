// Progress lines on stderr with the elapsed time, so a 10-minute run never looks hung and
// stdout stays clean for the result table.
const started = performance.now();

function stamp(): string {
  const s = (performance.now() - started) / 1000;
  return `${Math.floor(s / 60)}:${(s % 60).toFixed(0).padStart(2, "0")}`;
}

export function progress(message: string): void {
  process.stderr.write(`\x1b[2m[bench ${stamp()}]\x1b[0m ${message}\n`);
}

export function warnLine(message: string): void {
  process.stderr.write(`\x1b[33m[bench ${stamp()}] ${message}\x1b[0m\n`);
}
