import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOCKER_HELP } from './docker-help.js';
import { FakeClient, runShoal } from './helpers.js';

/** Where shoal's help deliberately differs from Docker's. */
function expected(command: string): string {
  let text = DOCKER_HELP[command]!;
  if (command === 'version')
    text = text.replace('Show the Docker version information', 'Show the shoal version information');
  if (command === 'swarm init') {
    text = text.replace(
      '      --default-addr-pool ipNetSlice',
      '      --datastore string                       Cluster datastore\n' +
        '                                               ("embedded", "etcd",\n' +
        '                                               "auto"; shoal only)\n' +
        '                                               (default "embedded")\n' +
        '      --default-addr-pool ipNetSlice',
    );
  }
  if (command === 'swarm update') {
    text = text.replace(
      '      --snapshot-interval uint',
      '      --max-tasks uint                  Most tasks all services may ask\n' +
        '                                        for together (shoal only)\n' +
        '      --max-tasks-per-service uint      Most tasks one service may ask\n' +
        '                                        for (shoal only)\n' +
        '      --snapshot-interval uint',
    );
  }
  if (command === 'swarm init') {
    text = text.replace(
      '      --snapshot-interval uint',
      '      --max-tasks uint                         Most tasks all services\n' +
        '                                               may ask for together\n' +
        '                                               (shoal only)\n' +
        '      --max-tasks-per-service uint             Most tasks one service may\n' +
        '                                               ask for (shoal only)\n' +
        '      --snapshot-interval uint',
    );
  }
  if (command === 'network') {
    // connect and disconnect attach containers; shoal has none.
    text = text
      .replace('  connect     Connect a container to a network\n', '')
      .replace('  disconnect  Disconnect a container from a network\n', '');
  }
  return text;
}

for (const command of Object.keys(DOCKER_HELP).filter((c) => !c.includes('@'))) {
  test(`help of ${command} is Docker's`, async () => {
    // A daemon speaking a newer API than every flag needs: nothing is hidden, as without a daemon.
    const client = new FakeClient(() => undefined, '1.50');
    const r = await runShoal([...command.split(' '), '--help'], { client });
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    assert.equal(r.out, expected(command));
  });
}

test('flags newer than the daemon are hidden from help, as Docker does', async () => {
  const r = await runShoal(['service', 'create', '--help'], {
    client: new FakeClient(() => undefined, '1.41'),
  });
  assert.equal(r.out, DOCKER_HELP['service create@1.41']);
});

test('-h works but warns that the shorthand is deprecated', async () => {
  const r = await runShoal(['node', 'ps', '-h'], { client: new FakeClient(() => undefined) });
  assert.equal(r.out, 'Flag shorthand -h has been deprecated, use --help\n' + DOCKER_HELP['node ps']);
});

test('a group without a sub-command prints its help on stderr and succeeds', async () => {
  const r = await runShoal(['node']);
  assert.equal(r.out, '');
  assert.equal(r.err, DOCKER_HELP['node']);
  assert.equal(r.code, 0);
});

test('shoal help <command> prints the command help; unknown topics fail', async () => {
  assert.equal((await runShoal(['help', 'node', 'rm'])).out, DOCKER_HELP['node rm']);
  const bad = await runShoal(['help', 'node', 'bogus']);
  assert.deepEqual(bad, { out: '', err: 'unknown help topic: bogus\n', code: 1 });
});
