// `shoal stack …` against a scripted daemon that already runs a stack: what an update sends (the whole
// spec with the version read, ForceUpdate kept, the image as --resolve-image says), the warnings it
// prints, --prune, secrets and configs updated with the same content, and rm's order and failures.
// (The first deploy of every example, byte for byte as the docker CLI's, is in test/e2e/stack-requests.)

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FakeClient, routes, runShoal, type RecordedRequest, type Reply } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-stack-unit-'));
writeFileSync(join(dir, 'secret.txt'), 'value\n');
const FILE = join(dir, 'demo.yml');
writeFileSync(
  FILE,
  [
    'version: "3.8"',
    'services:',
    '  web:',
    '    image: busybox:2',
    '    command: ["sleep", "1"]',
    '  worker:',
    '    image: busybox',
    'secrets:',
    '  s:',
    '    file: ./secret.txt',
    '',
  ].join('\n'),
);

const PINNED = 'busybox:2@sha256:' + 'a'.repeat(64);

function existing(name: string, image: string, label: string, version: number) {
  return {
    ID: `id-${name}`,
    Version: { Index: version },
    Spec: {
      Name: `demo_${name}`,
      Labels: { 'com.docker.stack.image': label, 'com.docker.stack.namespace': 'demo' },
      TaskTemplate: { ContainerSpec: { Image: image }, ForceUpdate: 3, Runtime: 'container' },
      Mode: { Replicated: { Replicas: 1 } },
    },
  };
}

function daemon(extra: Record<string, Reply | ((r: RecordedRequest) => Reply)> = {}): FakeClient {
  return new FakeClient(
    routes({
      'GET /info': { body: { Swarm: { ControlAvailable: true } } },
      'GET /networks': { body: [{ Name: 'demo_default', Id: 'net1' }] },
      'GET /secrets/demo_s': { body: { ID: 'sec1', Version: { Index: 7 }, Spec: { Name: 'demo_s' } } },
      'POST /secrets/sec1/update': { status: 200 },
      'GET /services': {
        body: [existing('web', PINNED, 'busybox:2', 10), existing('worker', 'busybox:latest', 'busybox', 11)],
      },
      'GET /distribution/*': { status: 500, body: { message: 'no registry' } },
      'POST /services/id-web/update': { body: { Warnings: null } },
      'POST /services/id-worker/update': { body: { Warnings: ['daemon says hi'] } },
      'POST /services/create': { status: 201, body: { ID: 'new' } },
      ...extra,
    }),
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a request body, read field by field
const bodyOf = (client: FakeClient, path: string): any =>
  JSON.parse(client.requests.find((r) => r.path === path)!.body);

describe('stack deploy over a running stack', () => {
  it('updates every service with its version, keeps ForceUpdate and prints update warnings', async () => {
    const client = daemon();
    const r = await runShoal(['stack', 'deploy', '-d', '--resolve-image', 'never', '-c', FILE, 'demo'], {
      client,
    });
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      'Updating service demo_web (id: id-web)\nUpdating service demo_worker (id: id-worker)\n',
    );
    assert.equal(r.err, 'daemon says hi\n');
    assert.deepEqual(client.lines, [
      'GET /info',
      'GET /networks?filters=%7B%22label%22%3A%7B%22com.docker.stack.namespace%3Ddemo%22%3Atrue%7D%7D',
      'GET /secrets/demo_s',
      'POST /secrets/sec1/update?version=7',
      'GET /services?filters=%7B%22label%22%3A%7B%22com.docker.stack.namespace%3Ddemo%22%3Atrue%7D%7D',
      'POST /services/id-web/update?version=10',
      'POST /services/id-worker/update?version=11',
    ]);
    // The image is the label's: the pinned one is kept; ForceUpdate is the service's.
    const web = bodyOf(client, '/services/id-web/update') as {
      TaskTemplate: { ContainerSpec: { Image: string }; ForceUpdate: number };
    };
    assert.equal(web.TaskTemplate.ContainerSpec.Image, PINNED);
    assert.equal(web.TaskTemplate.ForceUpdate, 3);
    // Neither X-Registry-Auth nor registryAuthFrom (the daemon keeps stored credentials).
    assert.ok(
      client.requests.every(
        (req) => !req.query.includes('registryAuthFrom') && !req.headers['X-Registry-Auth'],
      ),
    );
    const secret = client.requests.find((req) => req.path === '/secrets/sec1/update')!;
    assert.equal(
      secret.body,
      '{"Name":"demo_s","Labels":{"com.docker.stack.namespace":"demo"},"Data":"dmFsdWUK"}',
    );
  });

  it('--resolve-image always queries every image and warns when the registry cannot be reached', async () => {
    const client = daemon();
    const r = await runShoal(['stack', 'deploy', '-d', '-c', FILE, 'demo'], { client });
    assert.equal(r.code, 0);
    assert.deepEqual(
      client.lines.filter((l) => l.startsWith('GET /distribution')),
      ['GET /distribution/busybox:2/json', 'GET /distribution/busybox:latest/json'],
    );
    assert.match(r.err, /^image busybox:2 could not be accessed on a registry to record\nits digest\./);
    // Tag only: a registry that cannot be reached loses the pinned digest, as with Docker.
    const web = bodyOf(client, '/services/id-web/update') as {
      TaskTemplate: { ContainerSpec: { Image: string } };
    };
    assert.equal(web.TaskTemplate.ContainerSpec.Image, 'busybox:2');
  });

  it('--resolve-image changed queries only images that changed', async () => {
    writeFileSync(
      join(dir, 'changed.yml'),
      'version: "3.8"\nservices:\n  web:\n    image: busybox:3\n  worker:\n    image: busybox\n',
    );
    const client = daemon();
    const r = await runShoal(
      ['stack', 'deploy', '-d', '--resolve-image', 'changed', '-c', join(dir, 'changed.yml'), 'demo'],
      {
        client,
      },
    );
    assert.equal(r.code, 0);
    assert.deepEqual(
      client.lines.filter((l) => l.startsWith('GET /distribution')),
      ['GET /distribution/busybox:3/json'],
    );
    const worker = bodyOf(client, '/services/id-worker/update') as {
      TaskTemplate: { ContainerSpec: { Image: string } };
    };
    assert.equal(worker.TaskTemplate.ContainerSpec.Image, 'busybox:latest');
  });

  it('--prune removes the services the file dropped, before anything else; creations are quiet', async () => {
    writeFileSync(join(dir, 'pruned.yml'), 'version: "3.8"\nservices:\n  api:\n    image: busybox\n');
    const client = daemon({
      'DELETE /services/id-web': { status: 200 },
      'DELETE /services/id-worker': { status: 404, body: { message: 'service id-worker not found' } },
    });
    const r = await runShoal(['stack', 'deploy', '-d', '--prune', '-c', join(dir, 'pruned.yml'), 'demo'], {
      client,
    });
    assert.equal(r.code, 0);
    assert.equal(
      r.out,
      'Removing service demo_web\nRemoving service demo_worker\nCreating service demo_api\n',
    );
    assert.equal(
      r.err,
      'Failed to remove service id-worker: Error response from daemon: service id-worker not found',
    );
    assert.deepEqual(client.lines.slice(1, 4), [
      'GET /services?filters=%7B%22label%22%3A%7B%22com.docker.stack.namespace%3Ddemo%22%3Atrue%7D%7D',
      'DELETE /services/id-web',
      'DELETE /services/id-worker',
    ]);
  });

  it('a changed secret fails the deploy with the daemon’s refusal', async () => {
    const client = daemon({
      'POST /secrets/sec1/update': {
        status: 400,
        body: { message: 'rpc error: code = InvalidArgument desc = only updates to Labels are allowed' },
      },
    });
    const r = await runShoal(['stack', 'deploy', '-d', '-c', FILE, 'demo'], { client });
    assert.equal(r.code, 1);
    assert.equal(
      r.err,
      'failed to update secret demo_s: Error response from daemon: rpc error: code = InvalidArgument desc = only updates to Labels are allowed\n',
    );
  });

  it('refuses a node that is not a manager, before anything else', async () => {
    const client = new FakeClient(routes({ 'GET /info': { body: { Swarm: { ControlAvailable: false } } } }));
    const r = await runShoal(['stack', 'deploy', '-c', FILE, 'demo'], { client });
    assert.equal(r.code, 1);
    assert.match(r.err, /this node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/);
    assert.deepEqual(client.lines, ['GET /info']);
  });
});

describe('stack diff', () => {
  it('reports the fields a deploy would change, and what it would create', async () => {
    writeFileSync(
      join(dir, 'diff.yml'),
      'version: "3.8"\nservices:\n  web:\n    image: busybox:2\n    command: ["sleep", "2"]\n  new:\n    image: busybox\n',
    );
    const client = daemon({
      'GET /services': {
        body: [
          {
            ...existing('web', 'busybox:2', 'busybox:2', 10),
            Spec: {
              ...existing('web', 'busybox:2', 'busybox:2', 10).Spec,
              TaskTemplate: {
                ContainerSpec: {
                  Image: 'busybox:2',
                  Labels: { 'com.docker.stack.namespace': 'demo' },
                  Args: ['sleep', '1'],
                  Privileges: { CredentialSpec: null, SELinuxContext: null },
                  Isolation: 'default',
                },
                Resources: {},
                Placement: {},
                Networks: [{ Target: 'net1', Aliases: ['web'] }],
                ForceUpdate: 0,
                Runtime: 'container',
              },
              EndpointSpec: { Mode: 'vip' },
            },
          },
        ],
      },
    });
    const r = await runShoal(
      ['stack', 'diff', '--resolve-image', 'never', '-c', join(dir, 'diff.yml'), 'demo'],
      {
        client,
      },
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.out,
      '+ service demo_new\n~ service demo_web\n    TaskTemplate.ContainerSpec.Args: ["sleep","1"] → ["sleep","2"]\n',
    );
    assert.ok(
      client.requests.every((req) => req.method === 'GET'),
      'nothing written',
    );
  });
});

describe('stack rm', () => {
  it('removes services (by name), secrets, configs, networks; reports failures and goes on', async () => {
    const client = new FakeClient(
      routes({
        'GET /services': {
          body: [
            { ID: 's2', Spec: { Name: 'demo_b' } },
            { ID: 's1', Spec: { Name: 'demo_a' } },
          ],
        },
        'GET /networks': { body: [{ Id: 'n1', Name: 'demo_default' }] },
        'GET /secrets': { body: [{ ID: 'x1', Spec: { Name: 'demo_s' } }] },
        'GET /configs': { body: [] },
        'DELETE /services/*': { status: 200 },
        'DELETE /secrets/x1': { status: 204 },
        'DELETE /networks/n1': { status: 400, body: { message: 'network n1 is in use by task t1' } },
      }),
    );
    const r = await runShoal(['stack', 'rm', 'demo'], { client });
    assert.equal(r.code, 1);
    assert.equal(
      r.out,
      'Removing service demo_a\nRemoving service demo_b\nRemoving secret demo_s\nRemoving network demo_default\n',
    );
    assert.equal(
      r.err,
      'Failed to remove network n1: Error response from daemon: network n1 is in use by task t1failed to remove some resources from stack: demo\n',
    );
  });

  it('stack ls groups services by stack, in natural order', async () => {
    const svc = (id: string, stack: string) => ({
      ID: id,
      Spec: { Name: id, Labels: { 'com.docker.stack.namespace': stack } },
    });
    const client = new FakeClient(
      routes({ 'GET /services': { body: [svc('a', 'app-10'), svc('b', 'app-2'), svc('c', 'app-2')] } }),
    );
    const r = await runShoal(['stack', 'ls'], { client });
    assert.equal(r.out, 'NAME      SERVICES\napp-2     2\napp-10    1\n');
    const json = await runShoal(['stack', 'ls', '--format', '{{.Name}}={{.Services}}'], { client });
    assert.equal(json.out, 'app-2=2\napp-10=1\n');
  });
});
