/**
 * Progress of an import or export on stderr: on a terminal, one line redrawn in place (records,
 * rate, percent and ETA from the bytes read of a file of known size); otherwise a JSON line every
 * 5 seconds, `{ "progress": label, "records", "perSecond", "bytesRead", "bytesTotal", "etaSeconds" }`,
 * for logs. Returns the function to call after each record (`done` true once, at the end).
 */
export function transferProgress(
  label: string,
  totalBytes: number | null,
): (counts: Record<string, number>, bytesRead: number, done: boolean) => void {
  const started = Date.now();
  const tty = process.stderr.isTTY;
  let last = 0;
  return (counts, bytesRead, done) => {
    const now = Date.now();
    if (!done && now - last < (tty ? 200 : 5_000)) return;
    last = now;
    const records = Object.values(counts).reduce((sum, n) => sum + n, 0);
    const seconds = Math.max((now - started) / 1000, 0.001);
    const perSecond = Math.round(records / seconds);
    const fraction = totalBytes ? Math.min(bytesRead / totalBytes, 1) : null;
    const eta = fraction && fraction > 0 && !done ? Math.round((seconds / fraction) * (1 - fraction)) : done ? 0 : null;
    if (!tty) {
      if (done && records === 0) return;
      process.stderr.write(
        `${JSON.stringify({ progress: label, records, perSecond, bytesRead, bytesTotal: totalBytes, etaSeconds: eta })}\n`,
      );
      return;
    }
    const width = 24;
    const bar =
      fraction === null
        ? ''
        : `[${'#'.repeat(Math.round(fraction * width)).padEnd(width)}] ${Math.floor(fraction * 100)}% `;
    const etaText = eta === null ? '' : ` ETA ${Math.floor(eta / 60)}:${String(eta % 60).padStart(2, '0')}`;
    process.stderr.write(
      `\r${label} ${bar}${records.toLocaleString('en')} records ${perSecond}/s${etaText}\x1b[K${done ? '\n' : ''}`,
    );
  };
}
