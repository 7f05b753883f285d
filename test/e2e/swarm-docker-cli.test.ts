// Issue 2 as a user would try it: a one-node swarm driven by the unmodified docker CLI against shoald,
// surviving a kill -9, with Docker's answers to bad input.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, ShoalDaemon } from '../harness/index.js';
import { freePort } from '../harness/ports.js';

describe('one-node swarm with the docker CLI', { timeout: 120_000 }, () => {
  let daemon: ShoalDaemon;
  let listenAddr: string;

  before(async () => {
    dockerCli(); // these tests run the real docker CLI: fail here, at once, when it is missing
    daemon = ShoalDaemon.onLoopback();
    await daemon.start();
    listenAddr = `127.0.0.1:${await freePort()}`;
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  const docker = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await daemon.docker(args);
    assert.equal(code, 0, `docker ${args.join(' ')} failed: ${stderr}`);
    return stdout;
  };

  it('shows an inactive swarm before init', async () => {
    const info = await docker('info', '--format', '{{.Swarm.LocalNodeState}}');
    assert.equal(info.trim(), 'inactive');
    const ls = await daemon.docker(['node', 'ls']);
    assert.equal(ls.code, 1);
    assert.match(
      ls.stderr,
      /This node is not a swarm manager\. Use "docker swarm init" or "docker swarm join"/,
    );
  });

  let nodeId = '';

  it('initializes a swarm', async () => {
    const out = await docker('swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', listenAddr);
    const m = /^Swarm initialized: current node \(([0-9a-z]{25})\) is now a manager\.$/m.exec(out);
    assert.ok(m, out);
    nodeId = m[1]!;
    assert.match(out, /docker swarm join --token SWMTKN-1-[0-9a-z]{50}-[0-9a-z]{25} 127\.0\.0\.1:\d+/);
    const info = await docker(
      'info',
      '--format',
      '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}',
    );
    assert.equal(info.trim(), `active true ${nodeId}`);
  });

  it("refuses a second init with Docker's message", async () => {
    const again = await daemon.docker(['swarm', 'init', '--advertise-addr', '127.0.0.1']);
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr.trim(),
      'Error response from daemon: This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.',
    );
  });

  it('lists the node with the same columns as Docker', async () => {
    const out = await docker('node', 'ls');
    const [header, row] = out.trimEnd().split('\n');
    assert.match(header!, /^ID\s+HOSTNAME\s+STATUS\s+AVAILABILITY\s+MANAGER STATUS\s+ENGINE VERSION$/);
    assert.match(row!, new RegExp(`^${nodeId} \\*\\s+\\S+\\s+Ready\\s+Active\\s+Leader\\s+\\S+`));
  });

  it('inspects self', async () => {
    const nodes = JSON.parse(await docker('node', 'inspect', 'self')) as {
      ID: string;
      Spec: { Role: string };
    }[];
    assert.equal(nodes[0]?.ID, nodeId);
    assert.equal(nodes[0]?.Spec.Role, 'manager');
  });

  it('updates node labels through `self`', async () => {
    const out = await docker('node', 'update', '--label-add', 'a=b', 'self');
    assert.equal(out.trim(), 'self');
    const labels = await docker('node', 'inspect', 'self', '--format', '{{json .Spec.Labels}}');
    assert.equal(labels.trim(), '{"a":"b"}');
  });

  it('updates swarm settings', async () => {
    assert.equal((await docker('swarm', 'update', '--task-history-limit', '3')).trim(), 'Swarm updated.');
    const limit = await docker(
      'info',
      '--format',
      '{{.Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}',
    );
    assert.equal(limit.trim(), '3');
  });

  it('remembers the swarm, labels and settings after kill -9', async () => {
    await daemon.kill();
    await daemon.start();
    const info = await docker('info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}');
    assert.equal(info.trim(), `active ${nodeId}`);
    assert.equal(
      (await docker('node', 'inspect', 'self', '--format', '{{json .Spec.Labels}}')).trim(),
      '{"a":"b"}',
    );
    const limit = await docker(
      'info',
      '--format',
      '{{.Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}',
    );
    assert.equal(limit.trim(), '3');
  });

  describe("bad input gets Docker's answers", () => {
    it('unknown node', async () => {
      const res = await daemon.docker(['node', 'inspect', 'nosuchnode']);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /node nosuchnode not found/);
      const api = await daemon.api('GET', '/v1.41/nodes/nosuchnode');
      assert.equal(api.status, 404);
    });

    it('malformed JSON', async () => {
      const res = await daemon.api(
        'POST',
        `/v1.41/nodes/${nodeId}/update?version=1`,
        Buffer.from('{"Role":'),
      );
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { message: 'unexpected EOF' });
    });

    it("unknown fields are ignored as Docker ignores them, wrong types refused with Go's text", async () => {
      const node = (await daemon.apiOk('GET', '/v1.41/nodes/self')) as {
        Version: { Index: number };
        Spec: object;
      };
      const ok = await daemon.api('POST', `/v1.41/nodes/${nodeId}/update?version=${node.Version.Index}`, {
        ...node.Spec,
        Bogus: 1,
      });
      assert.equal(ok.status, 200);
      const after = (await daemon.apiOk('GET', '/v1.41/nodes/self')) as {
        Version: { Index: number };
        Spec: Record<string, unknown>;
      };
      assert.equal(after.Spec.Bogus, undefined);
      const wrong = await daemon.api('POST', `/v1.41/nodes/${nodeId}/update?version=${after.Version.Index}`, {
        ...after.Spec,
        Labels: { a: 5 },
      });
      assert.equal(wrong.status, 400);
      assert.deepEqual(wrong.body, {
        message: 'json: cannot unmarshal number into Go struct field NodeSpec.Labels of type string',
      });
    });

    it('a stale version', async () => {
      const res = await daemon.api('POST', `/v1.41/nodes/${nodeId}/update?version=1`, {
        Role: 'manager',
        Availability: 'active',
      });
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, { message: 'rpc error: code = Unknown desc = update out of sequence' });
      const missing = await daemon.api('POST', `/v1.41/nodes/${nodeId}/update`, { Role: 'manager' });
      assert.equal(missing.status, 400);
      assert.deepEqual(missing.body, {
        message: 'invalid node version \'\': strconv.ParseUint: parsing "": invalid syntax',
      });
    });

    it('an invalid availability and an empty label name', async () => {
      const bad = await daemon.docker(['node', 'update', '--availability', 'bogus', 'self']);
      assert.equal(bad.code, 1);
      assert.equal(bad.stderr.trim(), 'Error response from daemon: invalid Availability: "bogus"');
      const empty = await daemon.docker(['node', 'update', '--label-add', '=x', 'self']);
      assert.equal(empty.code, 1);
      assert.match(empty.stderr, /invalid label: label name cannot be empty/);
    });

    it('an API version below the minimum or above the maximum', async () => {
      const old = await daemon.api('GET', '/v1.12/info');
      assert.equal(old.status, 400);
      assert.match(
        (old.body as { message: string }).message,
        /^client version 1\.12 is too old\. Minimum supported API version is 1\.24/,
      );
      const pinned = await daemon.docker(['version'], { env: { DOCKER_API_VERSION: '1.12' } });
      assert.notEqual(pinned.code, 0);
      const tooNew = await daemon.api('GET', '/v1.99/info');
      assert.equal(tooNew.status, 400);
    });
  });

  it('leaves the swarm with --force', async () => {
    const refused = await daemon.docker(['swarm', 'leave']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /You are attempting to leave the swarm on a node that is participating as a manager/,
    );
    assert.equal((await docker('swarm', 'leave', '--force')).trim(), 'Node left the swarm.');
    assert.equal((await docker('info', '--format', '{{.Swarm.LocalNodeState}}')).trim(), 'inactive');
  });
});
