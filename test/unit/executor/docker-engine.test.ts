// The docker executor's dealings with its engine that need no engine: the engine address, API version
// negotiation, the node description from `/info`, and reading the engine's log streams.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareVersions, parseEngineHost } from '../../../src/agent/executor/docker/client.js';
import {
  describeFromInfo,
  describeWithoutEngine,
  dockerEngineLabels,
} from '../../../src/agent/executor/docker/describe.js';
import {
  demultiplex,
  fixedNanos,
  logsQuery,
  rawLines,
  unixTime,
} from '../../../src/agent/executor/docker/logs.js';
import type { LogLine } from '../../../src/agent/executor/executor.js';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function* chunks(buffer: Buffer, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size);
}

async function collect(lines: AsyncIterable<LogLine>): Promise<[string, string, string][]> {
  const result: [string, string, string][] = [];
  for await (const line of lines) result.push([line.stream, line.timestamp, line.data.toString()]);
  return result;
}

describe('docker executor: engine address', () => {
  it('takes unix sockets and plain TCP', () => {
    assert.deepEqual(parseEngineHost('unix:///var/run/docker.sock'), {
      display: 'unix:///var/run/docker.sock',
      socketPath: '/var/run/docker.sock',
    });
    assert.deepEqual(parseEngineHost('/run/podman/podman.sock'), {
      display: 'unix:///run/podman/podman.sock',
      socketPath: '/run/podman/podman.sock',
    });
    assert.deepEqual(parseEngineHost('tcp://198.18.0.10:2375'), {
      display: 'tcp://198.18.0.10:2375',
      host: '198.18.0.10',
      port: 2375,
    });
    assert.equal(parseEngineHost('tcp://[::1]:2375').host, '::1');
  });

  it('refuses what it cannot reach', () => {
    assert.throws(() => parseEngineHost('unix://relative.sock'), /must be absolute/);
    assert.throws(
      () => parseEngineHost('ssh://host'),
      /use unix:\/\/\/path\/to\/socket or tcp:\/\/host:port/,
    );
    assert.throws(() => parseEngineHost('tcp://host:99999'), /bad port/);
  });

  it('compares API versions as numbers', () => {
    assert.ok(compareVersions('1.9', '1.41') < 0);
    assert.ok(compareVersions('1.43', '1.41') > 0);
    assert.equal(compareVersions('1.41', '1.41'), 0);
  });
});

describe('docker executor: node description', () => {
  const info = {
    Name: 'node-a',
    ServerVersion: '20.10.24+dfsg1',
    OSType: 'linux',
    Architecture: 'x86_64',
    NCPU: 2,
    MemTotal: 25276182528,
    Labels: ['zone=a', 'zone=b', 'bad'],
    Plugins: {
      Volume: ['local'],
      Network: ['null', 'bridge', 'host'],
      Log: ['json-file', 'awslogs'],
      Authorization: null,
    },
  };

  it("is the engine's, plugins sorted by type then name, labels with the executor's", () => {
    assert.deepEqual(describeFromInfo(info, { rack: '1' }), {
      Hostname: 'node-a',
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2e9, MemoryBytes: 25276182528 },
      Engine: {
        EngineVersion: '20.10.24+dfsg1',
        Labels: { zone: 'b', rack: '1', 'shoal.executor': 'docker' },
        Plugins: [
          { Type: 'Log', Name: 'awslogs' },
          { Type: 'Log', Name: 'json-file' },
          { Type: 'Network', Name: 'bridge' },
          { Type: 'Network', Name: 'host' },
          { Type: 'Network', Name: 'null' },
          { Type: 'Volume', Name: 'local' },
        ],
      },
    });
  });

  it('keeps the executor label, whatever the engine or the user says', () => {
    assert.equal(
      dockerEngineLabels(['shoal.executor=process'], { 'shoal.executor': 'x' })['shoal.executor'],
      'docker',
    );
  });

  it('still describes the node, with no engine version or plugins, while the engine does not answer', () => {
    const description = describeWithoutEngine({ rack: '1' });
    assert.equal(description.Engine.EngineVersion, '');
    assert.deepEqual(description.Engine.Plugins, []);
    assert.deepEqual(description.Engine.Labels, { rack: '1', 'shoal.executor': 'docker' });
  });
});

describe('docker executor: log streams', () => {
  it('asks for timestamps, the streams, tail and times as the engine takes them', () => {
    assert.deepEqual(
      logsQuery({
        follow: true,
        stdout: true,
        stderr: false,
        tail: 5,
        since: 1700000000123,
        until: 1700000001000,
      }),
      {
        stdout: true,
        stderr: false,
        timestamps: true,
        follow: true,
        tail: 5,
        since: '1700000000.123000000',
        until: '1700000001.000000000',
      },
    );
    assert.equal(logsQuery({ follow: false, stdout: true, stderr: true }).tail, 'all');
    assert.equal(unixTime(1500), '1.500000000');
  });

  it('writes timestamps with nine fractional digits, in UTC', () => {
    assert.equal(fixedNanos('2024-05-01T12:00:00.12Z'), '2024-05-01T12:00:00.120000000Z');
    assert.equal(fixedNanos('2024-05-01T12:00:00Z'), '2024-05-01T12:00:00.000000000Z');
    assert.equal(fixedNanos('2024-05-01T14:00:00.123456789+02:00'), '2024-05-01T12:00:00.123456789Z');
    assert.equal(fixedNanos('garbage'), 'garbage');
  });

  it('demultiplexes stdout and stderr frames, whatever the chunking', async () => {
    const stream = Buffer.concat([
      frame(1, '2024-05-01T12:00:00.1Z out 1\n'),
      frame(2, '2024-05-01T12:00:00.2Z err 1\n'),
      frame(1, '2024-05-01T12:00:00.3Z partial'),
      frame(1, '2024-05-01T12:00:00.4Z  rest\n'),
    ]);
    const expected = [
      ['stdout', '2024-05-01T12:00:00.100000000Z', 'out 1\n'],
      ['stderr', '2024-05-01T12:00:00.200000000Z', 'err 1\n'],
      ['stdout', '2024-05-01T12:00:00.300000000Z', 'partial'],
      ['stdout', '2024-05-01T12:00:00.400000000Z', ' rest\n'],
    ];
    for (const size of [1, 7, 1000])
      assert.deepEqual(await collect(demultiplex(chunks(stream, size))), expected);
  });

  it('reads the raw stream of a container with a TTY as stdout', async () => {
    const stream = Buffer.from('2024-05-01T12:00:00.1Z one\r\n2024-05-01T12:00:00.2Z two');
    assert.deepEqual(await collect(rawLines(chunks(stream, 5))), [
      ['stdout', '2024-05-01T12:00:00.100000000Z', 'one\r\n'],
      ['stdout', '2024-05-01T12:00:00.200000000Z', 'two'],
    ]);
  });
});
