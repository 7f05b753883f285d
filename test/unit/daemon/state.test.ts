import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { generateNodeKeyAndCsr, type NodeTlsCredentials } from '../../../src/api/certs.js';
import { readCertificates, writeCertificates, certificatesDir } from '../../../src/daemon/certificates.js';
import { SwarmStateFile, type SwarmMembership } from '../../../src/daemon/state.js';
import { createRootCA, loadRootCASigner } from '../../../src/manager/ca/rootca.js';
import { signNodeCertificate } from '../../../src/manager/ca/signer.js';
import { DamagedStateError } from '../../../src/store/file-errors.js';

const root = mkdtempSync(join(tmpdir(), 'shoal-daemon-state-test-'));
let counter = 0;
const newSwarmDir = () => {
  const dir = join(root, `swarm-${counter++}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
};
after(() => rmSync(root, { recursive: true, force: true }));

const membership: SwarmMembership = {
  nodeId: 'node1',
  clusterId: 'cluster1',
  role: 'manager',
  advertiseAddr: '127.0.0.1:2377',
  listenAddr: '0.0.0.0:2377',
  remoteManagers: [],
  datastore: 'embedded',
};

const damaged = (kind: DamagedStateError['kind'], message: RegExp) => (err: unknown) => {
  assert.ok(err instanceof DamagedStateError, String(err));
  assert.equal(err.kind, kind);
  assert.match(err.message, message);
  return true;
};

describe('SwarmStateFile', () => {
  it('reads what it wrote (0600), and no file as no swarm', () => {
    const file = new SwarmStateFile(newSwarmDir());
    assert.equal(file.read(), undefined);
    file.write(membership);
    assert.deepEqual(file.read(), membership);
    assert.equal(statSync(file.path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(file.swarmDir), ['state.json'], 'no temporary file is left behind');
  });

  it('says which file is damaged and how: empty, truncated, not an object, a field missing', () => {
    const file = new SwarmStateFile(newSwarmDir());
    const cases: [string, RegExp][] = [
      ['', / is empty$/],
      ['{"nodeId": "node1", "clus', / is not valid JSON \(/],
      ['[1, 2]', / holds no object$/],
      [JSON.stringify({ ...membership, role: undefined }), / has no valid "role"$/],
      [JSON.stringify({ ...membership, nodeId: '' }), / has no valid "nodeId"$/],
      [JSON.stringify({ ...membership, role: 'worker' }), / names no manager to connect to$/],
    ];
    for (const [content, problem] of cases) {
      writeFileSync(file.path, content);
      assert.throws(
        () => file.read(),
        damaged('swarm-state', new RegExp(`^the swarm state file ${file.path}${problem.source}`)),
        content,
      );
    }
  });
});

describe('certificates', () => {
  let credentials: NodeTlsCredentials;
  let other: NodeTlsCredentials;

  before(async () => {
    const issue = async (): Promise<NodeTlsCredentials> => {
      const rootCA = await createRootCA();
      const { keyPem, csrPem } = await generateNodeKeyAndCsr();
      const certPem = await signNodeCertificate({
        csrPem,
        nodeId: 'node1',
        role: 'manager',
        clusterId: 'cluster1',
        expirySeconds: 3600 * 24,
        rootCA: await loadRootCASigner(rootCA),
      });
      return { rootCAPem: rootCA.CACert, certPem, keyPem };
    };
    credentials = await issue();
    other = await issue();
  });

  it('reads back what was written, every file 0600', () => {
    const swarmDir = newSwarmDir();
    writeCertificates(swarmDir, credentials);
    assert.deepEqual(readCertificates(swarmDir), credentials);
    for (const name of ['swarm-root-ca.crt', 'swarm-node.crt', 'swarm-node.key']) {
      assert.equal(statSync(join(certificatesDir(swarmDir), name)).mode & 0o777, 0o600, name);
    }
  });

  it("names a missing, empty or unparseable file, and a key that is not the certificate's", () => {
    const swarmDir = newSwarmDir();
    const dir = certificatesDir(swarmDir);
    const damages: [string, (path: string) => void, RegExp][] = [
      ['swarm-node.key', (path) => rmSync(path), /^the node key \S+swarm-node\.key is missing$/],
      [
        'swarm-node.crt',
        (path) => writeFileSync(path, ''),
        /^the node certificate \S+swarm-node\.crt is empty$/,
      ],
      [
        'swarm-root-ca.crt',
        (path) => writeFileSync(path, 'not a certificate'),
        /^the swarm's root CA certificate \S+ is not a valid certificate/,
      ],
      [
        'swarm-node.key',
        (path) => writeFileSync(path, 'not a key'),
        /^the node key \S+ is not a valid private key/,
      ],
      [
        'swarm-node.key',
        (path) => writeFileSync(path, other.keyPem),
        /^the node key \S+ does not belong to the node certificate \S+swarm-node\.crt$/,
      ],
    ];
    for (const [name, damage, message] of damages) {
      writeCertificates(swarmDir, credentials);
      damage(join(dir, name));
      assert.throws(() => readCertificates(swarmDir), damaged('certificate', message), name);
    }
  });
});
