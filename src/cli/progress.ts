/**
 * A progress bar on stderr for long commands (the bench's load, the stories backfill): redrawn in
 * place on a terminal, a line per 10% otherwise (CI logs).
 */
export function progressBar(label: string, total: number): (done: number) => void {
  const started = Date.now();
  const tty = process.stderr.isTTY;
  let lastPrinted = -1;
  return (done) => {
    const percent = Math.floor((done / total) * 100);
    if (!tty && percent < 100 && percent - lastPrinted < 10) return;
    lastPrinted = percent;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const line = `${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(percent).padStart(3)}% ${done.toLocaleString('en')}/${total.toLocaleString('en')} ${seconds}s`;
    process.stderr.write(tty ? `\r${line}${done >= total ? '\n' : ''}` : `${line}\n`);
  };
}
