// Go's text/tabwriter (elastic tabstops) as Docker's CLI uses it: docker/cli keeps a copy of Go's
// package (cli/command/formatter/tabwriter) that measures cells with go-runewidth, so East Asian wide
// characters and emoji count two columns and combining marks none. Docker's tables use
// `NewWriter(out, 10, 1, 3, ' ', 0)`: minimum cell width 10, padding 3, padded with spaces.
//
// Semantics kept from Go: text is split into cells terminated by '\t' (or '\v'); a line's last cell
// (the text after its last tab) is not part of a column and is never padded; a column is a run of
// consecutive lines that have a cell in that position, and its width is the widest cell plus padding
// (at least minwidth); '\f' and lines without any tab end a block of columns (the writer flushes).

export const TabFlags = {
  /** Ignore HTML tags and treat entities as one character (not supported: no effect). */
  FilterHTML: 1,
  /** Strip escape characters (not supported: no effect). */
  StripEscape: 2,
  /** Right-align cell content. */
  AlignRight: 4,
  /** Treat empty columns terminated by '\v' as if absent. */
  DiscardEmptyColumns: 8,
  /** Pad leading empty cells with tabs. */
  TabIndent: 16,
  /** Print '|' between columns. */
  Debug: 32,
} as const;

interface Cell {
  text: string;
  width: number;
  htab: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Display width (go-runewidth, non-East-Asian locale)

const WIDE: [number, number][] = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x23e9, 0x23ec],
  [0x23f0, 0x23f0],
  [0x23f3, 0x23f3],
  [0x25fd, 0x25fe],
  [0x2614, 0x2615],
  [0x2648, 0x2653],
  [0x267f, 0x267f],
  [0x2693, 0x2693],
  [0x26a1, 0x26a1],
  [0x26aa, 0x26ab],
  [0x26bd, 0x26be],
  [0x26c4, 0x26c5],
  [0x26ce, 0x26ce],
  [0x26d4, 0x26d4],
  [0x26ea, 0x26ea],
  [0x26f2, 0x26f3],
  [0x26f5, 0x26f5],
  [0x26fa, 0x26fa],
  [0x26fd, 0x26fd],
  [0x2705, 0x2705],
  [0x270a, 0x270b],
  [0x2728, 0x2728],
  [0x274c, 0x274c],
  [0x274e, 0x274e],
  [0x2753, 0x2755],
  [0x2757, 0x2757],
  [0x2795, 0x2797],
  [0x27b0, 0x27b0],
  [0x27bf, 0x27bf],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f251],
  [0x1f300, 0x1f320],
  [0x1f32d, 0x1f335],
  [0x1f337, 0x1f37c],
  [0x1f37e, 0x1f393],
  [0x1f3a0, 0x1f3ca],
  [0x1f3cf, 0x1f3d3],
  [0x1f3e0, 0x1f3f0],
  [0x1f3f4, 0x1f3f4],
  [0x1f3f8, 0x1f43e],
  [0x1f440, 0x1f440],
  [0x1f442, 0x1f4fc],
  [0x1f4ff, 0x1f53d],
  [0x1f54b, 0x1f54e],
  [0x1f550, 0x1f567],
  [0x1f57a, 0x1f57a],
  [0x1f595, 0x1f596],
  [0x1f5a4, 0x1f5a4],
  [0x1f5fb, 0x1f64f],
  [0x1f680, 0x1f6c5],
  [0x1f6cc, 0x1f6cc],
  [0x1f6d0, 0x1f6d2],
  [0x1f6d5, 0x1f6d7],
  [0x1f6eb, 0x1f6ec],
  [0x1f6f4, 0x1f6fc],
  [0x1f7e0, 0x1f7eb],
  [0x1f90c, 0x1f93a],
  [0x1f93c, 0x1f945],
  [0x1f947, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

function inTable(cp: number, table: [number, number][]): boolean {
  let lo = 0;
  let hi = table.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = table[mid]!;
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return true;
  }
  return false;
}

const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}]/u;

/** Display width of a single code point (0, 1 or 2 columns). */
export function runeWidth(cp: number): number {
  if (cp === 0) return 0;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1;
  if (cp === 0x200d || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (ZERO_WIDTH.test(String.fromCodePoint(cp))) return 0;
  return inTable(cp, WIDE) ? 2 : 1;
}

/** Display width of a string (go-runewidth's StringWidth, without grapheme clustering). */
export function stringWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    w += cp < 0x7f && cp >= 0x20 ? 1 : runeWidth(cp);
  }
  return w;
}

// ---------------------------------------------------------------------------------------------------
// Writer

export interface TabWriterOptions {
  minwidth: number;
  tabwidth: number;
  padding: number;
  padchar: string;
  flags: number;
}

/** Docker's table settings: `tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`. */
export const DOCKER_TABWRITER: TabWriterOptions = {
  minwidth: 10,
  tabwidth: 1,
  padding: 3,
  padchar: ' ',
  flags: 0,
};

export class TabWriter {
  private readonly opts: TabWriterOptions;
  private out = '';
  private lines: Cell[][] = [[]];
  private cell = '';
  private widths: number[] = [];

  constructor(options: Partial<TabWriterOptions> = {}) {
    this.opts = { ...DOCKER_TABWRITER, ...options };
    if (this.opts.minwidth < 0 || this.opts.tabwidth < 0 || this.opts.padding < 0) {
      throw new RangeError('negative minwidth, tabwidth, or padding');
    }
    if (this.opts.padchar === '\t') this.opts.flags &= ~TabFlags.AlignRight;
  }

  /** Feeds text; cells are terminated by '\t' or '\v', lines by '\n' or '\f'. */
  write(text: string): this {
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (ch !== '\t' && ch !== '\v' && ch !== '\n' && ch !== '\f') continue;
      this.cell += text.slice(start, i);
      start = i + 1;
      const ncells = this.terminateCell(ch === '\t');
      if (ch === '\n' || ch === '\f') {
        this.lines.push([]);
        if (ch === '\f' || ncells === 1) {
          // A line with a single cell does not affect the columns of the lines after it.
          this.flushInternal();
          if (ch === '\f' && this.opts.flags & TabFlags.Debug) this.out += '---\n';
        }
      }
    }
    this.cell += text.slice(start);
    return this;
  }

  /** Formats everything buffered and returns all output produced so far (and clears it). */
  flush(): string {
    this.flushInternal();
    const out = this.out;
    this.out = '';
    return out;
  }

  private terminateCell(htab: boolean): number {
    const line = this.lines[this.lines.length - 1]!;
    line.push({ text: this.cell, width: stringWidth(this.cell), htab });
    this.cell = '';
    return line.length;
  }

  private flushInternal(): void {
    if (this.cell.length > 0) this.terminateCell(false);
    this.format(0, this.lines.length);
    this.lines = [[]];
    this.widths = [];
    this.cell = '';
  }

  private writePadding(textw: number, cellw: number, useTabs: boolean): void {
    const { tabwidth, padchar } = this.opts;
    if (padchar === '\t' || useTabs) {
      if (tabwidth === 0) return;
      cellw = Math.ceil(cellw / tabwidth) * tabwidth;
      const n = cellw - textw;
      if (n < 0) throw new Error('internal error');
      this.out += '\t'.repeat(Math.ceil(n / tabwidth));
      return;
    }
    this.out += padchar.repeat(Math.max(cellw - textw, 0));
  }

  private writeLines(line0: number, line1: number): void {
    const { flags } = this.opts;
    for (let i = line0; i < line1; i++) {
      const line = this.lines[i]!;
      let useTabs = (flags & TabFlags.TabIndent) !== 0;
      line.forEach((c, j) => {
        if (j > 0 && flags & TabFlags.Debug) this.out += '|';
        if (c.text.length === 0) {
          if (j < this.widths.length) this.writePadding(c.width, this.widths[j]!, useTabs);
        } else {
          useTabs = false;
          if ((flags & TabFlags.AlignRight) === 0) {
            this.out += c.text;
            if (j < this.widths.length) this.writePadding(c.width, this.widths[j]!, false);
          } else {
            if (j < this.widths.length) this.writePadding(c.width, this.widths[j]!, false);
            this.out += c.text;
          }
        }
      });
      if (i + 1 === this.lines.length) {
        // The last buffered line has no newline yet: write the pending text of its open cell.
        this.out += this.cell;
      } else {
        this.out += '\n';
      }
    }
  }

  /** Formats lines [line0, line1): finds the column blocks, widest first from the left. */
  private format(line0: number, line1: number): void {
    const column = this.widths.length;
    for (let cur = line0; cur < line1; cur++) {
      const line = this.lines[cur]!;
      if (column >= line.length - 1) continue;
      // This line has a cell in this column: print the lines before it, then size the block.
      this.writeLines(line0, cur);
      line0 = cur;
      let width = this.opts.minwidth;
      let discardable = true;
      for (; cur < line1; cur++) {
        const l = this.lines[cur]!;
        if (column >= l.length - 1) break;
        const c = l[column]!;
        width = Math.max(width, c.width + this.opts.padding);
        if (c.width > 0 || c.htab) discardable = false;
      }
      if (discardable && this.opts.flags & TabFlags.DiscardEmptyColumns) width = 0;
      this.widths.push(width);
      this.format(line0, cur);
      this.widths.pop();
      line0 = cur; // the line that ended the block has no cell here: the loop may step past it
    }
    this.writeLines(line0, line1);
  }
}

/** Runs text through a tabwriter with Docker's settings (or the given ones) and returns the result. */
export function tabulate(text: string, options?: Partial<TabWriterOptions>): string {
  return new TabWriter(options).write(text).flush();
}
