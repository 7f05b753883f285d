import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createLogger } from '../../../src/daemon/logger.js';

describe('logger', () => {
  it('drops a line it cannot write, never throws, and says how many it dropped in the next line', () => {
    const written: Record<string, unknown>[] = [];
    let failure: 'throw' | 'false' | undefined;
    const log = createLogger({
      debug: false,
      write: (line) => {
        if (failure === 'throw')
          throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
        if (failure === 'false') return false;
        written.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      },
    });
    log.info('before');
    failure = 'throw';
    log.error('lost 1');
    log.with({ component: 'x' }).warn('lost 2'); // loggers made by with() share the count
    failure = 'false';
    log.info('lost 3');
    failure = undefined;
    log.info('after');
    log.info('later');
    assert.deepEqual(
      written.map((entry) => [entry.msg, entry.droppedLogLines]),
      [
        ['before', undefined],
        ['after', 3],
        ['later', undefined],
      ],
    );
  });
});
