// `--with-registry-auth`, `--no-resolve-image` and image tagging as the docker CLI does them: the
// credentials read from config.json (auths and credential helpers) and encoded for X-Registry-Auth, the
// /distribution call that pins a tag to a digest, and `:latest` added to untagged images on every create
// and update. (test/e2e/cli-shoal.test.ts compares the headers with the real docker CLI's.)

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { digestWarning, imageWithDigestString, imageWithTagString } from '../../../src/cli/image.js';
import {
  convertToHostname,
  decodeAuth,
  encodeAuthConfig,
  retrieveAuthTokenFromImage,
} from '../../../src/cli/registry-auth.js';
import { FakeClient, routes, runShoal, type RecordedRequest } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'shoal-registry-auth-'));
after(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A DOCKER_CONFIG directory holding `config` (a string is written as it is). */
function configDir(config: unknown): string {
  const dir = join(root, `config-${counter++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');
/** The header: base64url (padded) of the JSON Docker's client marshals. */
const header = (json: string) => Buffer.from(json).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
const decode = (value: string) => Buffer.from(value, 'base64url').toString('utf8');

/** A credential helper script, `docker-credential-<name>`, in a directory of its own for PATH. */
function helper(name: string, script: string): string {
  const dir = join(root, `bin-${counter++}`);
  mkdirSync(dir);
  const path = join(dir, `docker-credential-${name}`);
  writeFileSync(path, `#!/bin/sh\n${script}\n`);
  chmodSync(path, 0o755);
  return dir;
}

const context = (env: Record<string, string | undefined>) => {
  const warnings: string[] = [];
  return {
    warnings,
    context: { env: { PATH: '/nonexistent', ...env }, warn: (line: string) => warnings.push(line) },
  };
};

describe('registry credentials from config.json', () => {
  it('encodes an auths entry for the image registry as the docker CLI does', async () => {
    const dir = configDir({ auths: { 'registry.test:5000': { auth: basic('alice', 'p<a>ss:word') } } });
    const { context: ctx } = context({ DOCKER_CONFIG: dir });
    const token = await retrieveAuthTokenFromImage('registry.test:5000/busybox:1', ctx);
    // Go's json.Marshal escapes <, > and &; the password may hold a colon.
    assert.equal(
      decode(token),
      '{"username":"alice","password":"p\\u003ca\\u003ess:word","serveraddress":"registry.test:5000"}',
    );
    assert.equal(token, header(decode(token)));
    assert.ok(token.endsWith('='), 'padded base64url');
  });

  it('uses Docker Hub’s index key for docker.io images, and matches keys written as URLs', async () => {
    const dir = configDir({
      auths: {
        'https://index.docker.io/v1/': { auth: basic('hubuser', 'hubpass') },
        'https://other.test:5000/v2/': { auth: basic('urluser', 'urlpass'), email: 'x@y' },
        'plain.test': { username: 'legacy', password: 'old' },
      },
    });
    const { context: ctx } = context({ DOCKER_CONFIG: dir });
    assert.equal(
      decode(await retrieveAuthTokenFromImage('busybox', ctx)),
      '{"username":"hubuser","password":"hubpass","serveraddress":"https://index.docker.io/v1/"}',
    );
    assert.equal(
      decode(await retrieveAuthTokenFromImage('docker.io/team/app:2', ctx)),
      '{"username":"hubuser","password":"hubpass","serveraddress":"https://index.docker.io/v1/"}',
    );
    assert.equal(
      decode(await retrieveAuthTokenFromImage('other.test:5000/app', ctx)),
      '{"username":"urluser","password":"urlpass","email":"x@y","serveraddress":"https://other.test:5000/v2/"}',
    );
    assert.equal(
      decode(await retrieveAuthTokenFromImage('plain.test/app', ctx)),
      '{"username":"legacy","password":"old","serveraddress":"plain.test"}',
    );
    // Nothing stored for the registry: `{}`.
    assert.equal(await retrieveAuthTokenFromImage('unknown.test/app', ctx), 'e30=');
  });

  it('sends {} without a config file, and warns about a broken one as the docker CLI does', async () => {
    const missing = context({ DOCKER_CONFIG: join(root, 'nowhere') });
    assert.equal(await retrieveAuthTokenFromImage('registry.test:5000/a', missing.context), 'e30=');
    assert.deepEqual(missing.warnings, []);
    const dir = configDir('{"auths": ');
    const broken = context({ DOCKER_CONFIG: dir });
    assert.equal(await retrieveAuthTokenFromImage('registry.test:5000/a', broken.context), 'e30=');
    assert.equal(broken.warnings.length, 1);
    assert.match(
      broken.warnings[0]!,
      /^WARNING: Error loading config file: loading config file: .*config\.json: : /,
    );
    const badAuth = context({ DOCKER_CONFIG: configDir({ auths: { 'r.test': { auth: 'bm9jb2xvbg==' } } }) });
    await retrieveAuthTokenFromImage('r.test/a', badAuth.context);
    assert.match(badAuth.warnings[0]!, /: Invalid auth configuration file$/);
  });

  it('refuses an image that is not a reference with Go’s text', async () => {
    const { context: ctx } = context({ DOCKER_CONFIG: configDir({}) });
    await assert.rejects(retrieveAuthTokenFromImage('Busybox', ctx), {
      message: 'invalid reference format: repository name (library/Busybox) must be lowercase',
    });
  });

  it('asks credential helpers: credHelpers per registry, else credsStore; identity tokens; not found', async () => {
    const bin = helper(
      'fake',
      `read server
case "$server" in
  registry.test:5000) echo '{"ServerURL":"registry.test:5000","Username":"helperuser","Secret":"helperpass"}' ;;
  token.test) echo '{"ServerURL":"token.test","Username":"<token>","Secret":"id-token"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`,
    );
    const failing = helper('broken', 'echo "the keychain is locked"; exit 3');
    const dir = configDir({
      auths: { 'registry.test:5000': {}, 'elsewhere.test': { auth: basic('fileuser', 'filepass') } },
      credsStore: 'fake',
      credHelpers: { 'locked.test': 'broken', 'missing.test': 'absent' },
    });
    const { context: ctx } = context({ DOCKER_CONFIG: dir, PATH: `${bin}:${failing}` });
    assert.equal(
      decode(await retrieveAuthTokenFromImage('registry.test:5000/busybox:1', ctx)),
      '{"username":"helperuser","password":"helperpass","serveraddress":"registry.test:5000"}',
    );
    assert.equal(
      decode(await retrieveAuthTokenFromImage('token.test/app', ctx)),
      '{"serveraddress":"token.test","identitytoken":"id-token"}',
    );
    // The helper does not know it: nothing, not even what the file says (nativeStore.Get).
    assert.equal(await retrieveAuthTokenFromImage('elsewhere.test/app', ctx), 'e30=');
    await assert.rejects(retrieveAuthTokenFromImage('locked.test/app', ctx), {
      message: 'error getting credentials - err: exit status 3, out: `the keychain is locked`',
    });
    await assert.rejects(retrieveAuthTokenFromImage('missing.test/app', ctx), {
      message:
        'error getting credentials - err: exec: "docker-credential-absent": executable file not found in $PATH, out: ``',
    });
  });

  it('decodes auth as Go does, and finds hosts in URLs', () => {
    assert.deepEqual(decodeAuth(basic('u', 'p:q')), { username: 'u', password: 'p:q' });
    assert.throws(() => decodeAuth('YWJj!'), { message: 'illegal base64 data at input byte 4' });
    assert.throws(() => decodeAuth('YWJjZA'), { message: 'illegal base64 data at input byte 4' });
    assert.throws(() => decodeAuth(Buffer.from(':p').toString('base64')), {
      message: 'Invalid auth configuration file',
    });
    assert.equal(convertToHostname('https://index.docker.io/v1/'), 'index.docker.io');
    assert.equal(convertToHostname('http://registry.test:5000'), 'registry.test:5000');
    assert.equal(convertToHostname('https://[::1]:5000/v2/'), '[::1]:5000');
    assert.equal(convertToHostname('registry.test:5000/v2/'), 'registry.test:5000');
    assert.equal(encodeAuthConfig({}), 'e30=');
  });
});

describe('images as the docker CLI’s client library sends them', () => {
  it('tags untagged images :latest in their familiar form', () => {
    assert.equal(imageWithTagString('busybox'), 'busybox:latest');
    assert.equal(imageWithTagString('docker.io/library/busybox'), 'busybox:latest');
    assert.equal(imageWithTagString('registry.test:5000/busybox'), 'registry.test:5000/busybox:latest');
    assert.equal(imageWithTagString('busybox:1'), 'busybox:1');
    assert.equal(imageWithTagString(`busybox@sha256:${'a'.repeat(64)}`), `busybox@sha256:${'a'.repeat(64)}`);
    assert.equal(imageWithTagString('Busybox'), undefined);
    assert.equal(
      imageWithDigestString('busybox:1', `sha256:${'b'.repeat(64)}`),
      `busybox:1@sha256:${'b'.repeat(64)}`,
    );
    assert.equal(imageWithDigestString('busybox:1', ''), 'busybox:1');
  });
});

describe('service create and update with the registry', () => {
  const DIGEST = `sha256:${'c'.repeat(64)}`;
  const serviceJson = (image: string) => ({
    ID: 'svc0000000000000000000001',
    Version: { Index: 10 },
    Spec: {
      Name: 'web',
      TaskTemplate: {
        ContainerSpec: { Image: image, Isolation: 'default' },
        ForceUpdate: 0,
        Runtime: 'container',
      },
      Mode: { Replicated: { Replicas: 1 } },
    },
  });
  const client = (image: string, distribution: 'fail' | 'ok' = 'fail') =>
    new FakeClient(
      routes({
        'GET /distribution/*': (req: RecordedRequest) =>
          distribution === 'ok'
            ? {
                body: {
                  Descriptor: {
                    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
                    digest: DIGEST,
                    size: 527,
                  },
                  Platforms: [
                    { architecture: 'amd64', os: 'linux' },
                    { architecture: 'arm', os: 'linux', variant: 'v7' },
                  ],
                },
              }
            : { status: 501, body: { message: `cannot look up ${req.path} on its registry` } },
        'POST /services/create': { status: 201, body: { ID: 'svc0000000000000000000001' } },
        'GET /services/web': { body: serviceJson(image) },
        'POST /services/svc0000000000000000000001/update': { body: { Warnings: null } },
      }),
    );
  const sent = (c: FakeClient, path: string) => c.requests.find((r) => r.path.startsWith(path))!;
  const imageSent = (c: FakeClient, path: string) =>
    (JSON.parse(sent(c, path).body) as { TaskTemplate: { ContainerSpec: { Image: string } } }).TaskTemplate
      .ContainerSpec.Image;
  const env = {
    DOCKER_CONFIG: configDir({ auths: { 'registry.test:5000': { auth: basic('bob', 'builder') } } }),
  };
  const BOB = header('{"username":"bob","password":"builder","serveraddress":"registry.test:5000"}');

  it('create asks /distribution with the credentials, warns and keeps the tag when it cannot', async () => {
    const c = client('');
    const r = await runShoal(
      ['service', 'create', '-d', '--with-registry-auth', 'registry.test:5000/busybox', 'sleep', '1'],
      { client: c, env },
    );
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(c.lines, [
      'GET /distribution/registry.test:5000/busybox:latest/json',
      'POST /services/create',
    ]);
    assert.equal(sent(c, '/distribution').headers['X-Registry-Auth'], BOB);
    assert.equal(sent(c, '/services/create').headers['X-Registry-Auth'], BOB);
    assert.equal(imageSent(c, '/services/create'), 'registry.test:5000/busybox:latest');
    assert.equal(r.err, digestWarning('registry.test:5000/busybox:latest') + '\n');
    assert.equal(r.out, 'svc0000000000000000000001\n');
  });

  it('create pins the digest and the platforms the registry gives', async () => {
    const c = client('', 'ok');
    const r = await runShoal(['service', 'create', '-d', 'busybox:1.36'], { client: c, env });
    assert.equal(r.err, '');
    assert.equal(sent(c, '/distribution').headers['X-Registry-Auth'], undefined);
    const body = JSON.parse(sent(c, '/services/create').body) as {
      TaskTemplate: { ContainerSpec: { Image: string }; Placement: { Platforms: unknown } };
    };
    assert.equal(body.TaskTemplate.ContainerSpec.Image, `busybox:1.36@${DIGEST}`);
    assert.deepEqual(body.TaskTemplate.Placement.Platforms, [
      { Architecture: 'amd64', OS: 'linux' },
      { OS: 'linux' },
    ]);
    assert.equal(sent(c, '/services/create').headers['X-Registry-Auth'], undefined);
  });

  it('--no-resolve-image asks nothing; the image is still tagged', async () => {
    const c = client('');
    const r = await runShoal(['service', 'create', '-d', '--no-resolve-image', 'busybox'], {
      client: c,
      env,
    });
    assert.equal(r.err, '');
    assert.deepEqual(c.lines, ['POST /services/create']);
    assert.equal(imageSent(c, '/services/create'), 'busybox:latest');
  });

  it('update: /distribution only for a new --image; the header replaces registryAuthFrom', async () => {
    let c = client('busybox');
    let r = await runShoal(['service', 'update', '-d', '--env-add', 'A=1', 'web'], { client: c, env });
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(c.lines, [
      'GET /services/web?insertDefaults=false',
      'POST /services/svc0000000000000000000001/update?registryAuthFrom=spec&version=10',
    ]);
    assert.equal(imageSent(c, '/services/svc'), 'busybox:latest', 'tagged, as the docker CLI tags it');

    c = client('busybox:1');
    r = await runShoal(
      ['service', 'update', '-d', '--with-registry-auth', '--image', 'registry.test:5000/app:2', 'web'],
      { client: c, env },
    );
    assert.equal(r.err, digestWarning('registry.test:5000/app:2') + '\n');
    assert.deepEqual(c.lines, [
      'GET /services/web?insertDefaults=false',
      'GET /distribution/registry.test:5000/app:2/json',
      'POST /services/svc0000000000000000000001/update?version=10',
    ]);
    assert.equal(sent(c, '/distribution').headers['X-Registry-Auth'], BOB);
    assert.equal(sent(c, '/services/svc').headers['X-Registry-Auth'], BOB);

    c = client('busybox:1');
    r = await runShoal(['service', 'update', '-d', '--no-resolve-image', '--image', 'busybox:2', 'web'], {
      client: c,
      env,
    });
    assert.equal(r.err, '');
    assert.equal(c.lines.filter((l) => l.includes('/distribution/')).length, 0);
  });

  it('scale and rollback send the image tagged, and no credentials', async () => {
    let c = client('busybox');
    await runShoal(['service', 'scale', '-d', 'web=3'], { client: c, env });
    assert.equal(imageSent(c, '/services/svc'), 'busybox:latest');
    assert.deepEqual(sent(c, '/services/svc').headers, {});
    assert.equal(sent(c, '/services/svc').query, 'version=10');
    c = client('busybox');
    await runShoal(['service', 'rollback', '-d', 'web'], { client: c, env });
    assert.equal(imageSent(c, '/services/svc'), 'busybox:latest');
    assert.equal(sent(c, '/services/svc').query, 'rollback=previous&version=10');
  });
});
