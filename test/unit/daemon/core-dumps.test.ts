import assert from 'node:assert/strict';
import { test } from 'node:test';
import { softCoreLimit } from '../../../src/daemon/core-dumps.js';

test("the soft core limit is read from /proc/<pid>/limits' table", () => {
  const table = [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max file size             unlimited            unlimited            bytes     ',
    'Max core file size        0                    unlimited            bytes     ',
  ].join('\n');
  assert.equal(softCoreLimit(table), '0');
  assert.equal(
    softCoreLimit(table.replace('0                    unlimited', 'unlimited            unlimited')),
    'unlimited',
  );
  assert.equal(softCoreLimit('Limit Soft Hard\n'), undefined);
});
