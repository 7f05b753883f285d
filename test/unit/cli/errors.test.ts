// Argument and flag errors, byte for byte as docker CLI 28.2.2 prints them (recorded with the real
// CLI, `docker` replaced by `shoal`), with their exit codes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runShoal } from './helpers.js';

const cases: [string[], string, number][] = [
  [
    ['node', 'ls', 'extra'],
    "shoal: 'shoal node ls' accepts no arguments\n\nUsage:  shoal node ls [OPTIONS]\n\nRun 'shoal node ls --help' for more information\n",
    1,
  ],
  [
    ['service', 'update', 'a', 'b'],
    "shoal: 'shoal service update' requires 1 argument\n\nUsage:  shoal service update [OPTIONS] SERVICE\n\nRun 'shoal service update --help' for more information\n",
    1,
  ],
  [
    ['node', 'inspect'],
    "shoal: 'shoal node inspect' requires at least 1 argument\n\nUsage:  shoal node inspect [OPTIONS] self|NODE [NODE...]\n\nSee 'shoal node inspect --help' for more information\n",
    1,
  ],
  [
    ['node', 'bogus'],
    "shoal: unknown command: shoal node bogus\n\nUsage:  shoal node\n\nRun 'shoal node --help' for more information\n",
    1,
  ],
  [['bogus'], "shoal: unknown command: shoal bogus\n\nRun 'shoal --help' for more information\n", 1],
  [
    ['node', 'ls', '--bogus'],
    "unknown flag: --bogus\n\nUsage:  shoal node ls [OPTIONS]\n\nRun 'shoal node ls --help' for more information\n",
    125,
  ],
  [
    ['node', 'ls', '-qz'],
    "unknown shorthand flag: 'z' in -z\n\nUsage:  shoal node ls [OPTIONS]\n\nRun 'shoal node ls --help' for more information\n",
    125,
  ],
  [
    ['node', 'ls', '--format'],
    "flag needs an argument: --format\n\nUsage:  shoal node ls [OPTIONS]\n\nRun 'shoal node ls --help' for more information\n",
    125,
  ],
  [
    ['node', 'ls', '-f'],
    "flag needs an argument: 'f' in -f\n\nUsage:  shoal node ls [OPTIONS]\n\nRun 'shoal node ls --help' for more information\n",
    125,
  ],
  [
    ['node', 'ls', '-f', 'x'],
    'invalid argument "x" for "-f, --filter" flag: bad format of filter (expected name=value)\n\nUsage:  shoal node ls [OPTIONS]\n\nRun \'shoal node ls --help\' for more information\n',
    125,
  ],
  [
    ['node', 'ls', '-H', 'x'],
    "unknown shorthand flag: 'H' in -H\n\nUsage:  shoal node ls [OPTIONS]\n\nRun 'shoal node ls --help' for more information\n",
    125,
  ],
  [
    ['node', 'ls', '--', '-q'],
    "shoal: 'shoal node ls' accepts no arguments\n\nUsage:  shoal node ls [OPTIONS]\n\nRun 'shoal node ls --help' for more information\n",
    1,
  ],
  [
    ['service', 'create', '--replicas', '-1', 'busybox'],
    'invalid argument "-1" for "--replicas" flag: strconv.ParseUint: parsing "-1": invalid syntax\n\nUsage:  shoal service create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'shoal service create --help\' for more information\n',
    125,
  ],
  [
    ['service', 'create', '-d=maybe', 'x'],
    'invalid argument "maybe" for "-d, --detach" flag: strconv.ParseBool: parsing "maybe": invalid syntax\n\nUsage:  shoal service create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'shoal service create --help\' for more information\n',
    125,
  ],
  [
    ['service', 'create', '-p', '70000:80', 'x'],
    'invalid argument "70000:80" for "-p, --publish" flag: invalid hostPort: 70000\n\nUsage:  shoal service create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'shoal service create --help\' for more information\n',
    125,
  ],
  [
    ['service', 'create', '--placement-pref', 'bogus=x', 'x'],
    'invalid argument "bogus=x" for "--placement-pref" flag: unsupported placement preference bogus (only spread is supported)\n\nUsage:  shoal service create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'shoal service create --help\' for more information\n',
    125,
  ],
  [
    ['service', 'create', '--health-interval', '-1s', 'x'],
    'invalid argument "-1s" for "--health-interval" flag: duration cannot be negative\n\nUsage:  shoal service create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun \'shoal service create --help\' for more information\n',
    125,
  ],
  [
    ['swarm', 'update', '--cert-expiry', '5x'],
    'invalid argument "5x" for "--cert-expiry" flag: time: unknown unit "x" in duration "5x"\n\nUsage:  shoal swarm update [OPTIONS]\n\nRun \'shoal swarm update --help\' for more information\n',
    125,
  ],
  [
    ['service', 'create', '--mode', 'global', '--replicas', '2', 'x'],
    'replicas can only be used with replicated or replicated-job mode\n',
    1,
  ],
  [
    ['service', 'create', '--mode', 'bogus', 'x'],
    'Unknown mode: bogus, only replicated and global supported\n',
    1,
  ],
  [
    ['service', 'create', '--max-concurrent', '2', 'x'],
    'max-concurrent can only be used with replicated-job mode\n',
    1,
  ],
  [
    ['service', 'create', '--mode', 'replicated-job', '--update-parallelism', '2', 'x'],
    'update and rollback configuration is not supported for jobs\n',
    1,
  ],
  [
    ['service', 'create', '--no-healthcheck', '--health-cmd', 'x', 'x'],
    '--no-healthcheck conflicts with --health-* options\n',
    1,
  ],
  [
    ['service', 'scale', 'web'],
    "invalid scale specifier 'web'.\nSee 'shoal service scale --help'.\n\nUsage:  shoal service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]\n\nScale one or multiple replicated services\n",
    1,
  ],
  [['swarm', 'join-token', 'bogus'], 'unknown role bogus\n', 1],
  [
    ['--bogus', 'node', 'ls'],
    "unknown flag: --bogus\n\nUsage:  shoal [OPTIONS] COMMAND [ARG...]\n\nRun 'shoal --help' for more information\n",
    125,
  ],
];

for (const [argv, stderr, code] of cases) {
  test(`shoal ${argv.join(' ')}`, async () => {
    const r = await runShoal(argv);
    assert.deepEqual(r, { out: '', err: stderr, code });
  });
}

test('a daemon that does not answer: Docker-style connection error, exit 1', async () => {
  const r = await runShoal(['-H', 'unix:///nonexistent/shoal.sock', 'node', 'ls']);
  assert.deepEqual(r, {
    out: '',
    err: 'Cannot connect to the shoal daemon at unix:///nonexistent/shoal.sock. Is the shoal daemon running?\n',
    code: 1,
  });
});

test('the daemon address comes from -H, then SHOAL_HOST, then DOCKER_HOST', async () => {
  const viaEnv = await runShoal(['node', 'ls'], {
    env: { SHOAL_HOST: 'unix:///a.sock', DOCKER_HOST: 'unix:///b.sock' },
  });
  assert.match(viaEnv.err, /unix:\/\/\/a\.sock/);
  const viaDocker = await runShoal(['node', 'ls'], { env: { DOCKER_HOST: 'unix:///b.sock' } });
  assert.match(viaDocker.err, /unix:\/\/\/b\.sock/);
  const viaFlag = await runShoal(['-H', 'unix:///c.sock', 'node', 'ls'], {
    env: { SHOAL_HOST: 'unix:///a.sock' },
  });
  assert.match(viaFlag.err, /unix:\/\/\/c\.sock/);
});
