// Docker's relative times ("2 seconds ago") tick between two runs of one command, and the width of their
// column ticks with them: two CLIs' outputs of the same objects, taken a moment apart, may differ only so.

const RELATIVE_TIME = '(\\d+|an?|less than a|about an?) (second|minute|hour)s? ago';

/** The text with relative times blurred and runs of spaces (the columns' padding) made one width. */
export function blurRelativeTimes(text: string): string {
  return text.replace(new RegExp(RELATIVE_TIME, 'gi'), '<time> ago').replace(/ {2,}/g, '  ');
}

/**
 * What to compare of two outputs: both as they are when they are equal or show no relative time (so
 * that alignment is checked byte for byte), else both blurred.
 */
export function comparable(mine: string, theirs: string): [string, string] {
  if (mine === theirs || !new RegExp(RELATIVE_TIME, 'i').test(theirs)) return [mine, theirs];
  return [blurRelativeTimes(mine), blurRelativeTimes(theirs)];
}
