// The CLI's input and output streams, wrapped so that commands can be run (and tested) without a
// process: what they need to know is whether stdout is a terminal and how wide it is, because the
// progress display and the help text both depend on it.

import type { Readable, Writable } from 'node:stream';

export interface OutStream {
  write(text: string): void;
  /** Whether the stream is a terminal (Docker: `streams.Out().IsTerminal()`). */
  readonly isTerminal: boolean;
  /** The terminal width in columns, when known. */
  readonly columns: number | undefined;
}

export interface Streams {
  out: OutStream;
  err: OutStream;
  in: Readable & { isTTY?: boolean };
  /** Whether stdin is a terminal: Docker sizes help text by stdin's window. */
  inIsTerminal: boolean;
}

/** An OutStream over a Node writable (process.stdout / stderr). */
export function nodeOutStream(w: Writable & { isTTY?: boolean; columns?: number }): OutStream {
  return {
    write: (text: string) => {
      w.write(text);
    },
    get isTerminal() {
      return w.isTTY === true;
    },
    get columns() {
      return w.isTTY ? w.columns : undefined;
    },
  };
}

/** An OutStream that collects what is written (tests, and commands that render before printing). */
export class BufferStream implements OutStream {
  text = '';
  constructor(
    readonly isTerminal = false,
    readonly columns: number | undefined = undefined,
  ) {}
  write(text: string): void {
    this.text += text;
  }
}

/** The process's own streams. */
export function processStreams(): Streams {
  return {
    out: nodeOutStream(process.stdout),
    err: nodeOutStream(process.stderr),
    in: process.stdin,
    inIsTerminal: process.stdin.isTTY === true,
  };
}
