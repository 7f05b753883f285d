// How the docker CLI draws progress (moby's streamformatter + jsonmessage.DisplayJSONMessagesStream):
// each update names a row by ID; on a terminal every row keeps its line and is redrawn in place with
// cursor movements (`ESC[nA` up, `ESC[2K` erase, `\r`, `ESC[nB` down), elsewhere only rows without a
// drawable bar are printed, one line per update. The converge display of `service create/update/
// scale/rollback` and the CA rotation display of `swarm ca --rotate` both go through here.

import { humanSize } from '../../api/units.js';
import type { OutStream } from '../streams.js';

/** One progress update (moby's progress.Progress). */
export interface ProgressUpdate {
  /** The row; '' for a plain message line. */
  id: string;
  /** The text before the bar (JSONMessage.Status). */
  action?: string;
  /** Set for status messages (progress.Message / Progress.Message): shown without a bar. */
  message?: string;
  current?: number;
  total?: number;
  /** Hide the `current/total` numbers after the bar. */
  hideCounts?: boolean;
  units?: string;
}

/**
 * jsonmessage.JSONProgress.String(): a 50-character bar (only when the terminal is wider than 110
 * columns) followed by the counters; '' when there is nothing to show.
 */
export function progressBar(p: ProgressUpdate, width: number): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return p.units ? `${current} ${p.units}` : humanSize(current).padStart(8);
  let percentage = Math.trunc(Math.trunc((current / total) * 100) / 2);
  if (percentage > 50) percentage = 50;
  let bar = '';
  if (width > 110) bar = `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] `;
  let numbers = '';
  if (!p.hideCounts) {
    if (!p.units)
      numbers =
        current > total
          ? humanSize(current).padStart(8)
          : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
    else numbers = current > total ? `${current} ${p.units}` : `${current}/${total} ${p.units}`;
  }
  return bar + numbers;
}

/** A renderer of progress updates onto the CLI's output, as the docker CLI renders its JSON messages. */
export class ProgressDisplay {
  /** The line of each row, counted from the first row since the last plain message. */
  private readonly rows = new Map<string, number>();

  constructor(private readonly out: OutStream) {}

  /** The width bars are sized for: the terminal's, or 200 when the output is not a terminal. */
  private get width(): number {
    return this.out.isTerminal ? (this.out.columns ?? 80) : 200;
  }

  write(update: ProgressUpdate): void {
    const tty = this.out.isTerminal;
    const hasBar = update.message === undefined;
    let diff = 0;
    if (update.id !== '' && hasBar) {
      let line = this.rows.get(update.id);
      if (line === undefined) {
        line = this.rows.size;
        this.rows.set(update.id, line);
        if (tty) this.out.write('\n');
      }
      diff = this.rows.size - line;
      if (tty && diff > 0) this.out.write(`\x1b[${diff}A`);
    } else {
      // Anything that is not a progress row starts a new block of rows.
      this.rows.clear();
    }
    this.display(update, hasBar);
    if (update.id !== '' && tty && diff > 0) this.out.write(`\x1b[${diff}B`);
  }

  private display(update: ProgressUpdate, hasBar: boolean): void {
    const tty = this.out.isTerminal;
    let endl = '';
    if (tty && hasBar) {
      endl = '\r';
      this.out.write('\x1b[2K\r');
    } else if (hasBar && progressBar(update, this.width) !== '') {
      // Without a terminal a bar cannot be redrawn, so bar updates are not printed at all.
      return;
    }
    let text = update.id !== '' ? `${update.id}: ` : '';
    const status = hasBar ? (update.action ?? '') : (update.message ?? '');
    if (hasBar && tty) text += `${status} ${progressBar(update, this.width)}${endl}`;
    else text += `${status}${endl}\n`;
    this.out.write(text);
  }
}
