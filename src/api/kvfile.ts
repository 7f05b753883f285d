// docker/cli's pkg/kvfile: the `KEY=value` files of `--env-file`, `--label-file` and Compose's `env_file`.
// One variable a line; leading whitespace is dropped; blank lines and `#` comments are skipped; no quote
// handling and no interpolation; a bare `KEY` takes its value from the lookup (the CLI's environment) and
// is dropped when unset. Errors are Go's texts.

const WHITESPACE = /[ \t]/;
const UTF8_BOM = '\uFEFF';

/** parseKeyValueFile over a file's bytes: the `KEY=value` lines, in order. */
export function parseKeyValueFile(data: Uint8Array, lookup?: (key: string) => string | undefined): string[] {
  const lines: string[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  // bufio.ScanLines: split at \n, drop a \r before it; a final line without \n counts.
  const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const chunks: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0a) {
      chunks.push(raw.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < raw.length) chunks.push(raw.subarray(start));
  chunks.forEach((chunk, index) => {
    let bytes = chunk;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new Error(`invalid utf8 bytes at line ${index + 1}: [${[...bytes].join(' ')}]`);
    }
    if (index === 0 && text.startsWith(UTF8_BOM)) text = text.slice(1);
    const line = text.replace(/^\s+/u, '');
    if (line.length === 0 || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq >= 0 ? line.slice(0, eq) : line;
    if (key.length === 0) throw new Error(`no variable name on line '${line}'`);
    if (WHITESPACE.test(key)) throw new Error(`variable '${key}' contains whitespaces`);
    if (eq >= 0) {
      lines.push(line);
      return;
    }
    const value = lookup?.(line);
    if (value !== undefined) lines.push(`${key}=${value}`);
  });
  return lines;
}
