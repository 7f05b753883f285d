// The error of a template that fails to parse or to execute, with Go's message.

export class TemplateError extends Error {
  /** 'parse' for errors in the template text, 'exec' for errors while executing it. */
  readonly phase: 'parse' | 'exec';
  constructor(phase: 'parse' | 'exec', message: string) {
    super(message);
    this.name = 'TemplateError';
    this.phase = phase;
  }
}
