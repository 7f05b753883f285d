import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  parseIssueRequest,
  parsePublishLogs,
  parseRenewRequest,
  parseSessionRequest,
  parseSessionScoped,
  parseUpdateTaskStatus,
} from '../../../src/manager/clusterapi/validate.js';

const description = {
  Hostname: 'h',
  Platform: { Architecture: 'x86_64', OS: 'linux' },
  Resources: {},
  Engine: { EngineVersion: '1' },
};
const status = { Timestamp: '2024-05-01T12:00:00Z', State: 'running', Message: 'started' };

describe('request bodies from other hosts', () => {
  it('accepts well-formed requests', () => {
    assert.deepEqual(parseSessionRequest({ description }), { description });
    assert.deepEqual(parseSessionRequest({ sessionId: 's1', description }), { sessionId: 's1', description });
    assert.deepEqual(parseSessionScoped({ sessionId: 's1' }), { sessionId: 's1' });
    const updates = [{ taskId: 't1', status }];
    assert.deepEqual(parseUpdateTaskStatus({ sessionId: 's1', updates }), { sessionId: 's1', updates });
    const message = {
      subscriptionId: 'sub',
      entries: [{ taskId: 't', serviceId: 's', stream: 'stdout', timestamp: 'ts', data: 'aGk=' }],
      close: false,
    };
    assert.deepEqual(parsePublishLogs({ sessionId: 's1', message }), { sessionId: 's1', message });
    assert.deepEqual(parseIssueRequest({ csr: 'c', token: 't' }), {
      csr: 'c',
      token: 't',
      availability: 'active',
    });
    assert.deepEqual(parseRenewRequest({ csr: 'c' }), { csr: 'c' });
  });

  it('refuses a task state that does not exist', () => {
    assert.throws(
      () =>
        parseUpdateTaskStatus({
          sessionId: 's',
          updates: [{ taskId: 't', status: { ...status, State: 'bogus' } }],
        }),
      { code: 'InvalidArgument', message: 'malformed request: unknown task state "bogus"' },
    );
  });

  it('refuses bodies of the wrong shape', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => parseSessionScoped([]), /body must be an object/],
      [() => parseSessionScoped({ sessionId: 1 }), /sessionId must be a string/],
      [
        () => parseSessionRequest({ description: { ...description, Platform: null } }),
        /Platform must be an object/,
      ],
      [() => parseUpdateTaskStatus({ sessionId: 's', updates: {} }), /updates must be an array/],
      [
        () =>
          parsePublishLogs({ sessionId: 's', message: { subscriptionId: 'x', entries: [], close: 'no' } }),
        /close/,
      ],
      [
        () =>
          parsePublishLogs({
            sessionId: 's',
            message: {
              subscriptionId: 'x',
              close: true,
              entries: [{ taskId: 't', serviceId: 's', stream: 'stdin', timestamp: '', data: '' }],
            },
          }),
        /stdout or stderr/,
      ],
      [
        () => parseIssueRequest({ csr: 'c', token: 't', availability: 'sleepy' }),
        /invalid availability "sleepy"/,
      ],
      [() => parseIssueRequest({ token: 't' }), /csr must be a string/],
      [() => parseRenewRequest({}), /csr must be a string/],
    ];
    for (const [parse, message] of bad) assert.throws(parse, message);
  });
});
