/** A one-line progress bar on stderr, drawn from download events (only on a terminal). @internal */
import { type ProgressEvent, formatBytes } from '../essentials.js';

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

/** Images per second at a readable precision: 183, 12.4, 0.52. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  if (perSecond >= 100) return perSecond.toFixed(0);
  if (perSecond >= 10) return perSecond.toFixed(1);
  return perSecond.toPrecision(2);
}

/** A duration as `42s`, `3m05s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The progress line of a run over images: `120/400 images, 183 img/s, ETA 2s`. */
export function formatImageProgress(done: number, total: number, elapsedMs: number): string {
  const rate = done / Math.max(elapsedMs / 1000, 1e-3);
  const eta = done > 0 && done < total ? `, ETA ${formatDuration((total - done) / rate)}` : '';
  return `${done}/${total} images, ${done > 0 ? formatRate(rate) : '-'} img/s${eta}`;
}

/**
 * The closing line of a run over images: `400 images, 2 failed, 183 img/s`; no rate when every image
 * failed (nothing was classified: a rate would only time the failures).
 */
export function formatImageSummary(total: number, failed: number, elapsedMs: number): string {
  const head = `${total} image${total === 1 ? '' : 's'}, ${failed} failed`;
  return failed >= total ? head : `${head}, ${formatRate(total / Math.max(elapsedMs / 1000, 1e-3))} img/s`;
}

export interface ImageProgress {
  /** `done` images so far (results or failures). */
  update(done: number): void;
  /** Clear the progress line (when drawn) so another line can be written; the next update draws it again. */
  clear(): void;
  /** Clear the progress line and print the summary (unless quiet). */
  finish(done: number, failed: number): void;
}

/**
 * Progress of a run over `total` images on stderr: a line redrawn in place (on a terminal, once the run
 * has taken over a second, at most every 100 ms), then a one-line summary (always, unless quiet).
 * `now` is the clock (tests pass their own).
 */
export function imageProgress(write: (s: string) => void, options: { total: number; isTTY: boolean; quiet: boolean; now?: () => number }): ImageProgress {
  const { total, isTTY, quiet, now = Date.now } = options;
  const start = now();
  let lastDraw = -Infinity;
  let drawn = false;
  return {
    update(done) {
      if (quiet || !isTTY) return;
      const t = now();
      if (t - start < 1000 || t - lastDraw < 100) return;
      lastDraw = t;
      drawn = true;
      write(`\r${formatImageProgress(done, total, t - start)}\x1b[K`);
    },
    clear() {
      if (drawn) write('\r\x1b[K');
      drawn = false;
      lastDraw = -Infinity;
    },
    finish(done, failed) {
      if (quiet) return;
      if (drawn) write('\r\x1b[K');
      write(`pplcnet: ${formatImageSummary(done, failed, now() - start)}\n`);
    },
  };
}
