// docker/cli's inspect.Inspect: what `node inspect` and `service inspect` print without --pretty —
// the objects as an indented JSON array (as Go marshals them), compact with `--format json`, or a
// template executed per object; objects that cannot be read are reported after the others.

import type { Cli } from '../cli.js';
import { StatusError } from '../errors.js';
import { formatInspect, FormatError } from '../format/formatter.js';
import { Template, TemplateError } from '../format/template.js';
import { encodeGo, goView, indentJSON, type Shape } from '../wire.js';

export async function inspectOutput<T>(
  cli: Cli,
  refs: readonly string[],
  format: string,
  getRef: (ref: string) => Promise<T>,
  shape: Shape,
): Promise<void> {
  if (format !== '' && format !== 'json') {
    try {
      new Template(format);
    } catch (e) {
      if (e instanceof TemplateError) throw new StatusError(`template parsing error: ${e.message}`, 1);
      throw e;
    }
  }
  const errors: string[] = [];
  const elements: string[] = [];
  let templated = '';
  for (const ref of refs) {
    let element: T;
    try {
      element = await getRef(ref);
    } catch (e) {
      errors.push((e as Error).message);
      continue;
    }
    if (format === '' || format === 'json') {
      elements.push(encodeGo(element, shape));
      continue;
    }
    try {
      templated += formatInspect(format, [goView(element, shape)]);
    } catch (e) {
      if (e instanceof FormatError) errors.push(e.message);
      else throw e;
    }
  }
  if (format === '')
    cli.out.write((elements.length === 0 ? '[]' : indentJSON(`[${elements.join(',')}]`)) + '\n');
  else if (format === 'json') cli.out.write(`[${elements.join(',')}]\n`);
  else cli.out.write(templated === '' ? '\n' : templated);
  if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
}
