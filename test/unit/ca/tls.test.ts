// Node's real TLS stack on loopback with certificates from our CA: mutual authentication, identities on
// both ends, and refusal of strangers.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import {
  CA_SERVER_NAME,
  clientTlsOptions,
  peerIdentity,
  serverTlsOptions,
  type CertificateIdentity,
} from '../../../src/api/certs.js';
import { authorize } from '../../../src/manager/ca/auth.js';
import { newTestCluster, newTestNode } from './pki.js';

/** Guards against a hung connection; tests assert outcomes, never timings. */
const HANG_GUARD_MS = 10_000;

interface ClientOutcome {
  /** The TLS handshake completed from the client's point of view. */
  secure: boolean;
  /** Everything the server sent as application data. */
  data: string;
  error?: NodeJS.ErrnoException;
  /** The server's identity as the client read it from the connection. */
  server?: CertificateIdentity;
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function connectTls(port: number, options: tls.ConnectionOptions): Promise<ClientOutcome> {
  return new Promise((resolve) => {
    const outcome: ClientOutcome = { secure: false, data: '' };
    const socket = tls.connect({ ...options, host: '127.0.0.1', port });
    socket.setEncoding('utf8');
    socket.setTimeout(HANG_GUARD_MS, () => socket.destroy(new Error('hung')));
    socket.on('secureConnect', () => {
      outcome.secure = true;
      outcome.server = peerIdentity(socket);
    });
    socket.on('data', (chunk: string) => (outcome.data += chunk));
    socket.on('error', (err) => (outcome.error = err));
    socket.on('close', () => resolve(outcome));
  });
}

function connectPlain(port: number, send: string): Promise<{ data: Buffer }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port }, () => socket.write(send));
    socket.setTimeout(HANG_GUARD_MS, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ data: Buffer.concat(chunks) }));
  });
}

test('strict mutual TLS: a worker and a manager of one cluster see each other; strangers get nothing', async () => {
  const cluster = await newTestCluster();
  const manager = await newTestNode(cluster, 'manager');
  const worker = await newTestNode(cluster, 'worker');
  const stranger = await newTestNode(await newTestCluster(), 'worker');

  const seenByServer: CertificateIdentity[] = [];
  const server = tls.createServer(
    {
      ca: cluster.rootCAPem,
      cert: manager.certPem,
      key: manager.keyPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (socket) => {
      seenByServer.push(peerIdentity(socket));
      socket.end('hello');
    },
  );
  const port = await listen(server);
  try {
    const ok = await connectTls(
      port,
      clientTlsOptions({ rootCAPem: cluster.rootCAPem, certPem: worker.certPem, keyPem: worker.keyPem }),
    );
    assert.equal(ok.error, undefined);
    assert.equal(ok.data, 'hello');
    assert.deepEqual(ok.server, { nodeId: manager.nodeId, role: 'manager', clusterId: cluster.clusterId });
    assert.deepEqual(seenByServer, [{ nodeId: worker.nodeId, role: 'worker', clusterId: cluster.clusterId }]);

    // A client whose certificate comes from another CA: the server ends the handshake.
    let refused = once(server, 'tlsClientError');
    const foreign = await connectTls(
      port,
      clientTlsOptions({ rootCAPem: cluster.rootCAPem, certPem: stranger.certPem, keyPem: stranger.keyPem }),
    );
    await refused;
    // Node's server checks the client's chain once the handshake is done and drops the connection: the
    // client may see the handshake complete (TLS 1.3 authenticates clients last), then only the end.
    assert.equal(foreign.data, '');

    // A client without a certificate is refused too.
    refused = once(server, 'tlsClientError');
    const anonymous = await connectTls(port, clientTlsOptions({ rootCAPem: cluster.rootCAPem }));
    await refused;
    assert.equal(anonymous.data, '');

    // A plaintext client gets no application data, at most a TLS alert.
    refused = once(server, 'tlsClientError');
    const plain = await connectPlain(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await refused;
    assert.ok(!plain.data.toString('latin1').includes('hello'));

    assert.equal(seenByServer.length, 1, 'no refused client reached the application');
  } finally {
    await closeServer(server);
  }
});

test('the manager server options admit certificate-less joiners; each call authorizes the peer', async () => {
  const cluster = await newTestCluster();
  const manager = await newTestNode(cluster, 'manager');
  const otherManager = await newTestNode(cluster, 'manager');
  const worker = await newTestNode(cluster, 'worker');
  const stranger = await newTestNode(await newTestCluster(), 'manager');

  const server = tls.createServer(
    serverTlsOptions({ certPem: manager.certPem, keyPem: manager.keyPem, rootCAPem: cluster.rootCAPem }),
    (socket) => {
      let reply: string;
      try {
        const peer = authorize(socket, { allowedRoles: ['manager'], clusterId: cluster.clusterId });
        reply = `ok ${peer.role} ${peer.nodeId}`;
      } catch (err) {
        reply = `denied ${(err as Error).message}`;
      }
      socket.end(reply);
    },
  );
  const port = await listen(server);
  const withCert = (node: { certPem: string; keyPem: string }): tls.ConnectionOptions =>
    clientTlsOptions({ rootCAPem: cluster.rootCAPem, certPem: node.certPem, keyPem: node.keyPem });
  try {
    assert.equal((await connectTls(port, withCert(otherManager))).data, `ok manager ${otherManager.nodeId}`);
    assert.equal(
      (await connectTls(port, withCert(worker))).data,
      'denied Permission denied: remote certificate not part of OUs: [swarm-manager]',
    );
    assert.equal(
      (await connectTls(port, withCert(stranger))).data,
      'denied no verified chains for remote certificate',
    );
    // How a node without a certificate reaches the CA to join: no client certificate, server name swarm-ca.
    const joiner = await connectTls(port, clientTlsOptions({ rootCAPem: cluster.rootCAPem }, CA_SERVER_NAME));
    assert.equal(joiner.error, undefined);
    assert.equal(joiner.server?.role, 'manager');
    assert.equal(joiner.data, 'denied no client certificates in request');
  } finally {
    await closeServer(server);
  }
});

test('clients accept only a manager of their root as server', async () => {
  const cluster = await newTestCluster();
  const worker = await newTestNode(cluster, 'worker');
  const manager = await newTestNode(cluster, 'manager');
  const otherCluster = await newTestCluster();

  // A worker certificate does not name swarm-manager nor swarm-ca.
  const impostor = tls.createServer({ cert: worker.certPem, key: worker.keyPem }, (socket) =>
    socket.end('hi'),
  );
  const impostorPort = await listen(impostor);
  const genuine = tls.createServer({ cert: manager.certPem, key: manager.keyPem }, (socket) =>
    socket.end('hi'),
  );
  const genuinePort = await listen(genuine);
  try {
    for (const serverName of [undefined, CA_SERVER_NAME]) {
      const outcome = await connectTls(
        impostorPort,
        clientTlsOptions({ rootCAPem: cluster.rootCAPem }, serverName),
      );
      assert.equal(outcome.error?.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
      assert.equal(outcome.data, '');
    }
    // A client pinned to another root does not trust this cluster's manager.
    const pinnedElsewhere = await connectTls(
      genuinePort,
      clientTlsOptions({ rootCAPem: otherCluster.rootCAPem }),
    );
    assert.ok(pinnedElsewhere.error);
    assert.equal(pinnedElsewhere.data, '');

    const fine = await connectTls(genuinePort, clientTlsOptions({ rootCAPem: cluster.rootCAPem }));
    assert.equal(fine.data, 'hi');
  } finally {
    await closeServer(impostor);
    await closeServer(genuine);
  }
});

test('over HTTP/2, the session socket of a stream identifies the peer', async () => {
  const cluster = await newTestCluster();
  const manager = await newTestNode(cluster, 'manager');
  const worker = await newTestNode(cluster, 'worker');

  const server = http2.createSecureServer(
    serverTlsOptions({ certPem: manager.certPem, keyPem: manager.keyPem, rootCAPem: cluster.rootCAPem }),
  );
  server.on('stream', (stream) => {
    let reply: string;
    try {
      // The session hands out a proxy of the TLS socket; it must pass for one.
      const peer = authorize(stream.session!.socket, {
        allowedRoles: ['worker'],
        clusterId: cluster.clusterId,
      });
      reply = `ok ${peer.role} ${peer.nodeId}`;
    } catch (err) {
      reply = `denied ${(err as Error).message}`;
    }
    stream.respond({ ':status': 200 });
    stream.end(reply);
  });
  const port = await listen(server);
  const request = async (options: tls.ConnectionOptions): Promise<string> => {
    const client = http2.connect(`https://127.0.0.1:${port}`, options);
    try {
      const stream = client.request({ ':path': '/' });
      stream.setEncoding('utf8');
      let body = '';
      stream.on('data', (chunk: string) => (body += chunk));
      await once(stream, 'end');
      return body;
    } finally {
      client.close();
    }
  };
  try {
    assert.equal(
      await request(
        clientTlsOptions({ rootCAPem: cluster.rootCAPem, certPem: worker.certPem, keyPem: worker.keyPem }),
      ),
      `ok worker ${worker.nodeId}`,
    );
    assert.equal(
      await request(clientTlsOptions({ rootCAPem: cluster.rootCAPem }, CA_SERVER_NAME)),
      'denied no client certificates in request',
    );
  } finally {
    await closeServer(server);
  }
});
