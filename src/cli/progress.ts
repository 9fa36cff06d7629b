/**
 * One-line terminal progress with rate and time left. Redraws in place on a TTY; elsewhere
 * (CI logs, pipes) prints a line at most every few seconds so logs stay readable.
 */
export class TerminalProgress {
  private readonly started = Date.now();
  private lastPrinted = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'images',
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number): void {
    const now = Date.now();
    const finished = done >= this.total;
    const interval = this.stream.isTTY ? 100 : 5000;
    if (!finished && now - this.lastPrinted < interval) return;
    this.lastPrinted = now;
    const seconds = (now - this.started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = rate > 0 ? (this.total - done) / rate : Infinity;
    const line =
      `${this.label}: ${done}/${this.total} ${this.unit}` +
      ` (${rate.toFixed(1)} ${this.unit}/s, ${finished ? `${formatSeconds(seconds)} total` : `${formatSeconds(left)} left`})`;
    if (this.stream.isTTY) this.stream.write(`\r\x1b[2K${line}${finished ? '\n' : ''}`);
    else this.stream.write(`${line}\n`);
  }
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(0)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.round(seconds - minutes * 60)).padStart(2, '0')}s`;
}

/** A status line for the runner's log (stderr, so stdout can carry JSON). */
export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}
