/** A one-line progress bar on stderr, drawn from download events (only on a terminal). @internal */
import { type ProgressEvent, formatBytes } from '../index.js';

export function progressBar(write: (s: string) => void, isTTY: boolean, quiet: boolean): (e: ProgressEvent) => void {
  let start = 0;
  let startBytes = 0;
  let lastDraw = 0;
  const draw = (name: string, loaded: number, total: number | undefined, final = false): void => {
    const now = Date.now();
    if (!final && now - lastDraw < 100) return;
    lastDraw = now;
    const secs = Math.max((now - start) / 1000, 1e-3);
    const rate = (loaded - startBytes) / secs;
    const pct = total ? loaded / total : undefined;
    const width = 24;
    const bar = pct === undefined ? '' : `[${'#'.repeat(Math.round(pct * width)).padEnd(width, '.')}] ${(pct * 100).toFixed(0).padStart(3)}% `;
    const eta = total && rate > 0 ? ` ETA ${Math.max(0, Math.round((total - loaded) / rate))}s` : '';
    write(`\r${name} ${bar}${formatBytes(loaded)}${total ? ` / ${formatBytes(total)}` : ''} ${formatBytes(rate)}/s${final ? '' : eta}\x1b[K`);
  };
  return (e) => {
    if (quiet || !isTTY) return;
    switch (e.status) {
      case 'download':
        start = Date.now();
        startBytes = e.resumeFrom;
        if (e.resumeFrom > 0) write(`${e.name}: resuming at ${formatBytes(e.resumeFrom)}\n`);
        break;
      case 'progress':
        draw(e.name, e.loaded, e.total);
        break;
      case 'done':
        draw(e.name, e.loaded, e.loaded, true);
        write('\n');
        break;
      default:
        break;
    }
  };
}
