// google/shlex Split: a string split into words as a POSIX shell would, without expansion — quotes and
// backslashes honoured, `#` starting a comment. The docker CLI splits `--entrypoint`/`--args` and Compose's
// string `command`/`entrypoint` with it.

/** google/shlex Split. */
export function shlexSplit(input: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const push = (): void => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  while (i < input.length) {
    const c = input[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      push();
      i++;
    } else if (c === '#' && word === undefined) {
      // A comment runs to the end of the line.
      while (i < input.length && input[i] !== '\n') i++;
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw new Error('EOF found after escape character');
      word = (word ?? '') + input[i + 1];
      i += 2;
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end < 0) throw new Error('EOF found when expecting closing quote');
      word = (word ?? '') + input.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= input.length) throw new Error('EOF found when expecting closing quote');
        const d = input[j]!;
        if (d === '"') break;
        if (d === '\\') {
          if (j + 1 >= input.length) throw new Error('EOF found when expecting closing quote');
          text += input[j + 1];
          j += 2;
          continue;
        }
        text += d;
        j++;
      }
      word = (word ?? '') + text;
      i = j + 1;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  push();
  return words;
}
