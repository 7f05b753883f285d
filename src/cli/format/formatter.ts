// Docker's CLI output conventions for list commands (docker/cli cli/command/formatter): the
// `--format` flag and `-q`, rendered exactly as `docker` renders them.
//
// A command calls `formatList` with its rows (one object per row, whose fields the templates read),
// its header names and its default table format:
//
//   process.stdout.write(formatList(services.map(toServiceContext), {
//     format: opts.format, quiet: opts.quiet,
//     defaultTableFormat: 'table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}',
//     header: { ID: 'ID', Name: 'NAME', Mode: 'MODE', Replicas: 'REPLICAS', Image: 'IMAGE', Ports: 'PORTS' },
//   }));
//
// Format values, as Docker reads them:
// - empty (flag not given): the config file's format if given and not quiet, else `table`;
// - `table`: the command's default table (or, with -q, `{{.ID}}` — -q only matters here);
// - `table <template>`: a table of that template, the header row rendered from the same template
//   over the header names (`{{.ID}}` → `ID`; unknown fields give `<no value>`);
// - `json`: `{{json .}}`, one JSON object per line;
// - `raw`: the command's raw format, for commands that have one;
// - anything else: a template printed once per row, with no header.
// In every format the two-character sequences `\t` and `\n` stand for a tab and a newline, and
// surrounding spaces are trimmed. Tables go through Docker's tabwriter (minwidth 10, padding 3).
// Errors (bad template, unknown field) throw FormatError `template parsing error: …` and nothing
// is printed, as with Docker; the CLI prints the message and exits 1.

import { DOCKER_HEADER_FUNCS, Template, TemplateError } from './template.js';
import { TabWriter } from './tabwriter.js';

export const TABLE_FORMAT_KEY = 'table';
export const RAW_FORMAT_KEY = 'raw';
export const PRETTY_FORMAT_KEY = 'pretty';
export const JSON_FORMAT_KEY = 'json';
/** Docker's formatter.DefaultQuietFormat. */
export const DEFAULT_QUIET_FORMAT = '{{.ID}}';
/** Docker's formatter.JSONFormat. */
export const JSON_FORMAT = '{{json .}}';

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

/** Whether a format is a table format (Docker: it starts with "table"). */
export const isTableFormat = (format: string): boolean => format.startsWith(TABLE_FORMAT_KEY);

/** Whether a format is exactly "json". */
export const isJSONFormat = (format: string): boolean => format === JSON_FORMAT_KEY;

export interface ListFormatOptions {
  /** The `--format` value; empty or undefined when the flag was not given. */
  format?: string | undefined;
  /** `-q` / `--quiet`. */
  quiet?: boolean | undefined;
  /** The command's default table, e.g. `table {{.ID}}\t{{.Name}}`. */
  defaultTableFormat: string;
  /** What `-q` prints with the table format; Docker's default is `{{.ID}}`. */
  quietFormat?: string;
  /** The matching format from the CLI config file (e.g. `servicesFormat`), if any. */
  configFormat?: string | undefined;
  /** The command's `raw` format and its quiet variant, for commands that accept `--format raw`. */
  rawFormat?: string;
  rawQuietFormat?: string;
}

/** The format a list command renders with, resolved as Docker's `NewListFormat` / `NewFormat` do. */
export function resolveListFormat(options: ListFormatOptions): string {
  let source = options.format ?? '';
  if (source === '') {
    source = options.configFormat && !options.quiet ? options.configFormat : TABLE_FORMAT_KEY;
  }
  if (source === TABLE_FORMAT_KEY) {
    return options.quiet ? (options.quietFormat ?? DEFAULT_QUIET_FORMAT) : options.defaultTableFormat;
  }
  if (source === RAW_FORMAT_KEY && options.rawFormat !== undefined) {
    return options.quiet ? (options.rawQuietFormat ?? options.rawFormat) : options.rawFormat;
  }
  return source;
}

/** The template text Docker executes for a format (its Context.preFormat). */
export function templateText(format: string): string {
  let text = format;
  if (isTableFormat(format)) text = text.slice(TABLE_FORMAT_KEY.length);
  else if (isJSONFormat(format)) text = JSON_FORMAT;
  text = text.replace(/^ +| +$/g, '');
  return text.replace(/\\t|\\n/g, (m) => (m === '\\t' ? '\t' : '\n'));
}

/** Parses a format's template, wrapping errors as Docker does. */
export function parseFormat(format: string): Template {
  try {
    return new Template(templateText(format));
  } catch (e) {
    if (e instanceof TemplateError) throw new FormatError(`template parsing error: ${e.message}`);
    throw e;
  }
}

/** Header names by field, e.g. `{ ID: 'ID', Name: 'NAME' }` (Docker's SubHeaderContext). */
export type HeaderMap = Readonly<Record<string, string>>;

/**
 * Renders rows with an already resolved format (Docker's formatter.Context.Write): one template
 * execution per row, each followed by a newline; for table formats a header row first and the whole
 * through the tabwriter. Returns the text to print.
 */
export function renderFormat(format: string, rows: Iterable<unknown>, header: HeaderMap = {}): string {
  const tmpl = parseFormat(format);
  let body = '';
  for (const row of rows) {
    const r = tmpl.executePartial(row);
    if (r.error) throw new FormatError(`template parsing error: ${r.error.message}`);
    body += r.output + '\n';
  }
  if (!isTableFormat(format)) return body;
  // Docker ignores errors in the header row and keeps what was written before them.
  const headerRow = tmpl.executePartial({ ...header }, { funcs: DOCKER_HEADER_FUNCS }).output;
  return new TabWriter().write(headerRow).write('\n').write(body).flush();
}

/** Resolves the format from the flags and renders the rows: what a list command prints. */
export function formatList(
  rows: Iterable<unknown>,
  options: ListFormatOptions & { header: HeaderMap },
): string {
  return renderFormat(resolveListFormat(options), rows, options.header);
}

/**
 * What `docker … inspect --format` prints for each element: the template's output and a newline.
 * Docker first executes over its typed structs and, if that fails, over the raw JSON with
 * missingkey=error; here there is only the JSON, so `missingKey` lets a caller choose.
 */
export function formatInspect(
  format: string,
  elements: Iterable<unknown>,
  options: { missingKey?: 'default' | 'zero' | 'error' } = {},
): string {
  let tmpl: Template;
  try {
    tmpl = new Template(format);
  } catch (e) {
    if (e instanceof TemplateError) throw new FormatError(`template parsing error: ${e.message}`);
    throw e;
  }
  let out = '';
  for (const el of elements) {
    const r = tmpl.executePartial(el, { missingKey: options.missingKey ?? 'default' });
    if (r.error) throw new FormatError(`template parsing error: ${r.error.message}`);
    out += r.output + '\n';
  }
  return out;
}
