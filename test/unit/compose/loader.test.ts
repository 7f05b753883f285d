// The Compose loader as `docker stack deploy` and `stack config` load files (stack-semantics.md §2–§6, §11):
// YAML, versions, interpolation with its quirks and casts, schema errors in Docker's words, decoding of
// the short syntaxes, env files, merging, and the notices about keys swarm mode ignores. Every invalid
// example gives the error its README gives. The e2e suite checks the same against the real docker CLI.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substitute } from '../../../src/compose/interpolate.js';
import { parseComposeYAML } from '../../../src/compose/yaml.js';
import { configText, host, load, loadError, loadForDeploy, testEnv } from './support.js';

const V = 'version: "3.8"\n';
const svc = (body: string): string => `${V}services:\n  web:\n    image: busybox\n${body}`;

describe('YAML as yaml.v3 reads it', () => {
  it('reads integers with Go literal syntax, YAML 1.2 booleans only, merge keys', () => {
    const tree = parseComposeYAML(
      'a: 0440\nb: 0o17\nc: 1_000\nd: 0b101\ne: 0x1F\nf: yes\ng: True\nh: ~\ni: .5\nbase: &b {x: 1}\nj:\n  <<: *b\n  y: 2\n',
    );
    assert.deepEqual(tree, {
      a: 288,
      b: 15,
      c: 1000,
      d: 5,
      e: 31,
      f: 'yes',
      g: true,
      h: null,
      i: 0.5,
      base: { x: 1 },
      j: { x: 1, y: 2 },
    });
  });

  it('refuses a root that is not a mapping, a tab as indentation and a key given twice', () => {
    assert.throws(() => parseComposeYAML('- a\n'), /^ComposeYAMLError: top-level object must be a mapping$/);
    assert.throws(() => parseComposeYAML(''), /top-level object must be a mapping/);
    assert.throws(
      () => parseComposeYAML('a:\n  b: 1\n\tc: 2\n'),
      /^ComposeYAMLError: yaml: line 3: found character that cannot start any token$/,
    );
    assert.throws(
      () => parseComposeYAML('a: 1\na: 2\n'),
      (e: Error) =>
        e.message === 'yaml: unmarshal errors:\n  line 2: mapping key "a" already defined at line 1',
    );
  });
});

describe('interpolation', () => {
  const env = (vars: Record<string, string>) => (name: string) =>
    Object.hasOwn(vars, name) ? vars[name] : undefined;

  it('substitutes as the semantics table says', () => {
    const lookup = env({ SET: 'v', EMPTY: '' });
    const cases: [string, string][] = [
      ['$$', '$'],
      ['$SET', 'v'],
      ['${SET}', 'v'],
      ['${UNSET}', ''],
      ['${EMPTY:-d}', 'd'],
      ['${UNSET:-d}', 'd'],
      ['${EMPTY-d}', ''],
      ['${UNSET-d}', 'd'],
      ['${SET:?x}', 'v'],
      ['${EMPTY?x}', ''],
      // Quirks: the operator is searched in the whole token; an unbraced name takes an operator.
      ['${X:?must-be-set}', 'be-set'],
      ['$SET-name', 'v'],
      ['$UNSET-name', 'name'],
      ['${UNSET:-${B}}', '${B}'],
      ['$${A:-x}', '${A:-x}'],
    ];
    for (const [template, want] of cases) assert.equal(substitute(template, lookup), want, template);
  });

  it('refuses a $ that starts no token, and a required variable without a value', () => {
    for (const bad of ['a$', '$1', '$ x', '${}', '${ x}', '${x }']) {
      assert.throws(() => substitute(bad, env({})), /Invalid template/, bad);
    }
    assert.throws(
      () => substitute('${A:?msg}', env({ A: '' })),
      /required variable A is missing a value: msg/,
    );
    // A later token clears an earlier error, as in Go.
    assert.equal(substitute('${A:?msg} ${B}', env({ B: 'b' })), ' b');
  });

  it('casts what changed, words errors with the path, never touches keys', async () => {
    const text = await configText(
      {
        'a.yml': svc(
          '    read_only: ${RO}\n    deploy:\n      replicas: ${N}\n    labels:\n      ${KEY}: "$KEY"\n    ports:\n      - target: 80\n        published: ${P}\n',
        ),
      },
      { RO: 'yes', N: '3', P: '8088', KEY: 'k' },
    );
    assert.match(text, /read_only: true/);
    assert.match(text, /replicas: 3/);
    assert.match(text, /\$\{KEY\}: k/);
    assert.match(text, /published: 8088/);
    assert.equal(
      await loadError({ 'a.yml': svc('    ports:\n      - target: 80\n        published: ${P}\n') }),
      'error while interpolating services.web.ports.[].published: failed to cast to expected type: strconv.Atoi: parsing "": invalid syntax',
    );
    assert.equal(
      await loadError({ 'a.yml': svc('    read_only: ${RO:-maybe}\n') }),
      'error while interpolating services.web.read_only: failed to cast to expected type: invalid boolean: maybe',
    );
    // A literal quoted "3" is not cast, and the schema refuses it.
    assert.equal(
      await loadError({ 'a.yml': svc('    deploy:\n      replicas: "3"\n') }),
      'services.web.deploy.replicas must be a integer',
    );
  });
});

describe('the invalid examples fail as their README says', () => {
  const cases: [string[], string, Record<string, string>?][] = [
    [['invalid/bad-yaml.yml'], 'yaml: line 5: found character that cannot start any token'],
    [['invalid/unknown-key.yml'], 'services.web Additional property restart_policy is not allowed'],
    [['invalid/bad-duration.yml'], "services.api.healthcheck.interval Does not match format 'duration'"],
    [
      ['invalid/forbidden-key.yml'],
      'compose file contains unsupported options:\n\nmem_limit: Set resource limits using deploy.resources\n',
    ],
    [['invalid/unquoted-version.yml'], 'version must be a string'],
    [['invalid/unsupported-version.yml'], 'unsupported Compose file version: 2.4'],
    [
      ['invalid/missing-required-var.yml'],
      'invalid interpolation format for services.app.image: "required variable APP_TAG is missing a value: APP_TAG must be set"; you may need to escape any $ with another $',
    ],
    [
      ['invalid/lone-dollar.yml'],
      'invalid interpolation format for services.shop.command.[]: "echo price is 5$"; you may need to escape any $ with another $',
    ],
    [['invalid/no-image.yml'], 'invalid image reference for service app: no image specified'],
    [['invalid/cpus-number.yml'], 'services.web.deploy.resources.limits.cpus must be a string'],
    [
      ['invalid/version-mismatch-base.yml', 'invalid/version-mismatch-override.yml'],
      'version mismatched between two composefiles : 3.8 and 3.13',
    ],
  ];
  for (const [files, want] of cases) {
    it(files.join(' + '), async () => {
      await assert.rejects(loadForDeploy(files), (e: Error) => {
        assert.equal(e.message, want);
        return true;
      });
    });
  }

  it('no-image.yml warns about build first', async () => {
    const h = host();
    const { notices } = await (async () => {
      const { loadComposeFile } = await import('../../../src/compose/loader.js');
      return loadComposeFile(['invalid/no-image.yml'], h);
    })();
    assert.equal(notices, 'Ignoring unsupported options: build\n\n');
  });

  it('the conversion-stage examples load (they fail when converted)', async () => {
    await loadForDeploy(['invalid/global-with-replicas.yml']);
    await loadForDeploy(['invalid/undefined-network.yml']);
  });
});

describe('schema errors in gojsonschema words', () => {
  const cases: [string, string][] = [
    [
      '    deploy:\n      update_config:\n        order: bogus\n',
      'services.web.deploy.update_config.order services.web.deploy.update_config.order must be one of the following: "start-first", "stop-first"',
    ],
    ['    volumes:\n      - source: x\n', 'services.web.volumes.0 type is required'],
    ['    ports:\n      - "80:80:80"\n', "services.web.ports.0 Does not match format 'ports'"],
    ['    ports:\n      - target: "x"\n', 'services.web.ports.0.target must be a integer'],
    ['    dns: [a, a]\n', 'services.web.dns array items[0,1] must be unique'],
    ['    environment:\n      A: true\n', 'services.web.environment.A must be a string, number or null'],
    ['    networks:\n      foo:\n        aliases: 3\n', 'services.web.networks.foo.aliases must be a list'],
    ['    healthcheck:\n      test: 3\n', 'services.web.healthcheck.test must be a string'],
    [
      '    depends_on:\n      db:\n        condition: service_healthy\n',
      'services.web.depends_on must be a list',
    ],
    [
      '    volumes:\n      - type: tmpfs\n        target: /x\n        tmpfs:\n          size: -1\n',
      'services.web.volumes.0.tmpfs.size Must be greater than or equal to 0',
    ],
  ];
  for (const [body, want] of cases) {
    it(want, async () => assert.equal(await loadError({ 'a.yml': svc(body) }), want));
  }

  it('names the root and refuses newer keys in older versions', async () => {
    assert.equal(
      await loadError({ 'a.yml': `${V}foo: 1\nservices: {}\n` }),
      '(root) Additional property foo is not allowed',
    );
    assert.equal(await loadError({ 'a.yml': `${V}services: []\n` }), 'services must be a mapping');
    assert.equal(
      await loadError({ 'a.yml': 'version: "3.0"\nservices:\n  web:\n    image: x\n    secrets: [a]\n' }),
      'services.web Additional property secrets is not allowed',
    );
    assert.equal(
      await loadError({ 'a.yml': 'version: "3.3"\nx-a: 1\nservices:\n  web:\n    image: x\n' }),
      '(root) Additional property x-a is not allowed',
    );
    assert.equal(
      await loadError({ 'a.yml': svc('    oom_score_adj: 1\n') }),
      'services.web Additional property oom_score_adj is not allowed',
    );
  });
});

describe('decoding', () => {
  it('reports transformer errors as mapstructure does, every one of a service', async () => {
    assert.equal(
      await loadError({
        'a.yml':
          'version: "3.3"\nservices:\n  web:\n    image: x\n    healthcheck: {test: ["CMD"], interval: 10sec, timeout: 1x}\n',
      }),
      'decoding failed due to the following error(s):\n\nerror decoding \'HealthCheck.Timeout\': time: unknown unit "x" in duration "1x"\nerror decoding \'HealthCheck.Interval\': time: unknown unit "sec" in duration "10sec"',
    );
    assert.equal(
      await loadError({ 'a.yml': svc('    volumes: [":/x"]\n') }),
      "decoding failed due to the following error(s):\n\nerror decoding 'Volumes[0]': invalid spec: :/x: empty section between colons",
    );
    assert.equal(
      await loadError({ 'a.yml': svc('    user: 2024-06-11\n') }),
      "decoding failed due to the following error(s):\n\n'User' expected type 'string', got unconvertible type 'time.Time', value: '2024-06-11 00:00:00 +0000 UTC'",
    );
  });

  it('expands short ports, volumes, hosts and mappings', async () => {
    const config = await load(
      ['a.yml'],
      host(
        {},
        {
          'a.yml': svc(
            '    ports: ["8080:80", "9090-9091:8080-8081", "127.0.0.1:53:53/udp"]\n' +
              '    volumes: [/data, "./rel:/rel:ro", "named:/n:nocopy", "/a:/b:rshared,z"]\n' +
              '    extra_hosts: ["h:1.2.3.4", "v6=[::1]"]\n' +
              '    labels: [a=1, b]\n    environment: [A=1, B]\n    command: sh -c \'echo "a b"\'\n',
          ),
        },
        '/w',
      ),
    );
    const web = config.services[0]!;
    assert.deepEqual(
      web.ports!.map((p) => `${p.published}:${p.target}/${p.protocol} ${p.mode}`),
      ['8080:80/tcp ingress', '9090:8080/tcp ingress', '9091:8081/tcp ingress', '53:53/udp ingress'],
    );
    assert.deepEqual(
      web.volumes!.map((v) => [
        v.type,
        v.source,
        v.target,
        v.readOnly,
        v.volume?.nocopy,
        v.bind?.propagation,
      ]),
      [
        ['volume', '', '/data', false, undefined, undefined],
        ['bind', '/w/rel', '/rel', true, undefined, undefined],
        ['volume', 'named', '/n', false, true, undefined],
        ['bind', '/a', '/b', false, undefined, 'rshared'],
      ],
    );
    assert.deepEqual(web.extraHosts, ['h:1.2.3.4', 'v6:::1']);
    assert.deepEqual(web.labels, { a: '1', b: '' });
    assert.deepEqual(web.environment, { A: '1', B: null });
    assert.deepEqual(web.command, ['sh', '-c', 'echo "a b"']);
  });

  it('resolves env files and the environment against the CLI environment', async () => {
    const config = await load(
      ['a.yml'],
      host(
        { FROMENV: 'e', EMPTY_IN_FILE: 'x', OVER: 'from-cli' },
        {
          'a.yml': svc(
            '    env_file: [one.env, two.env]\n    environment:\n      OVER: ""\n      LAST: set\n',
          ),
          'one.env': '# comment\n  A=1\nB="quoted"\nFROMENV\nGONE\nEMPTY_IN_FILE=\n',
          'two.env': 'A=2\n',
        },
        '/w',
      ),
    );
    assert.deepEqual(config.services[0]!.environment, {
      A: '2',
      B: '"quoted"',
      FROMENV: 'e',
      EMPTY_IN_FILE: 'x',
      OVER: 'from-cli',
      LAST: 'set',
    });
    assert.equal(
      await loadError({ 'a.yml': svc('    env_file: missing.env\n') }),
      'open /nowhere/missing.env: no such file or directory',
    );
  });

  it('names external objects and warns about external.name as Docker logs it', async () => {
    const h = host(
      {},
      {
        'a.yml':
          'version: "3.8"\nservices:\n  web:\n    image: x\nsecrets:\n  s:\n    external:\n      name: real\nvolumes:\n  v:\n    external: true\n',
      },
      '/w',
    );
    const config = await load(['a.yml'], h);
    assert.equal(config.secrets!['s']!.name, 'real');
    assert.equal(config.volumes!['v']!.name, 'v');
    assert.deepEqual(h.warnings, ['secret s: secret.external.name is deprecated in favor of secret.name']);
    assert.equal(
      await loadError({
        'a.yml': `${V}services:\n  web:\n    image: x\nvolumes:\n  v:\n    external: true\n    driver: x\n`,
      }),
      'conflicting parameters "external" and "driver" specified for volume "v"',
    );
    assert.equal(
      await loadError({
        'a.yml': `${V}services:\n  web:\n    image: x\nsecrets:\n  s:\n    driver: x\n    file: f\n`,
      }),
      'secret s: secret.driver and secret.file conflict; only use secret.driver',
    );
  });
});

describe('notices about keys swarm mode ignores', () => {
  it('unsupported and deprecated keys, from every file, sorted', async () => {
    const h = host(
      {},
      {
        'a.yml': svc('    restart: always\n    privileged: true\n    container_name: c\n'),
        'b.yml': `${V}services:\n  web:\n    expose: [80]\n    build: .\n    depends_on: [x]\n    tmpfs: /run\n`,
      },
      '/w',
    );
    const { notices } = await loadForDeploy(['a.yml', 'b.yml'], h);
    assert.equal(
      notices,
      'Ignoring unsupported options: build, privileged, restart\n\n' +
        'Ignoring deprecated options:\n\n' +
        'container_name: Setting the container name is not supported.\n\n' +
        "expose: Exposing ports is unnecessary - services on the same network can access each other's containers on any port.\n\n",
    );
  });
});

describe('merging several files', () => {
  it('merges the example pair as its README says', async () => {
    const config = await load(['merge-base.yml', 'merge-override.yml']);
    assert.deepEqual(
      config.services.map((s) => s.name),
      ['cache', 'metrics', 'web'],
    );
    const web = config.services.find((s) => s.name === 'web')!;
    assert.equal(web.image, 'registry.example.test/shop/web:1.5.0');
    assert.equal(web.readOnly, true);
    assert.deepEqual(web.environment, { MODE: 'production', CACHE_URL: 'redis://cache:6379/0' });
    assert.deepEqual(
      web.ports!.map((p) => [p.published, p.target, p.protocol, p.mode]),
      [
        [8080, 8081, '', ''],
        [9090, 9090, 'tcp', 'ingress'],
      ],
    );
    assert.deepEqual(web.capAdd, ['NET_BIND_SERVICE', 'SYS_TIME']);
    assert.deepEqual(web.dns, ['10.0.0.2', '10.0.0.2']);
    assert.equal(web.deploy.replicas, 0);
    assert.deepEqual(web.deploy.placement.constraints, ['node.role == worker', 'node.labels.zone == a']);
    assert.deepEqual(web.healthCheck?.test, ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8080/healthz']);
    assert.deepEqual(config.networks!['default'], {
      name: '',
      driver: '',
      driverOpts: undefined,
      ipam: { driver: '', config: undefined },
      external: { name: '', external: false },
      internal: false,
      attachable: true,
      labels: undefined,
    });
  });

  it('keeps Docker quirks: appended healthcheck tests, zero values that cannot reset, keyed lists', async () => {
    const text = await configText({
      'a.yml': svc(
        '    healthcheck:\n      test: ["CMD-SHELL", "a"]\n    init: true\n    secrets: [b, a]\n    labels: {x: "1"}\n    environment: {E: "1", F: "1"}\n    deploy:\n      replicas: 2\n      update_config: {parallelism: 3}\n',
      ),
      'b.yml': `${V}services:\n  web:\n    healthcheck:\n      test: ["CMD-SHELL", "b"]\n    init: false\n    secrets: [{source: a, target: t}]\n    labels: {x: ""}\n    environment: {E: "", F: "2"}\n    deploy:\n      update_config: {parallelism: 0}\nsecrets:\n  a: {file: a}\n  b: {file: b}\n`,
    });
    assert.match(text, /test:\n {8}- CMD-SHELL\n {8}- a\n {8}- CMD-SHELL\n {8}- b\n/);
    assert.match(text, /init: true/);
    assert.match(text, /secrets:\n {6}- source: a\n {8}target: t\n {6}- source: b\n/);
    assert.match(text, /labels:\n {6}x: ""\n/);
    assert.match(text, /environment:\n {6}E: "1"\n {6}F: "2"\n/);
    assert.match(text, /update_config:\n {8}parallelism: 0\n/);
  });
});

describe('stack config output', () => {
  it('writes strings, durations, sizes and maps as yaml.v3 does', async () => {
    const text = await configText({
      'a.yml':
        'version: "3.13"\nservices:\n  a:\n    image: busybox\n    command: ["a: b", "#x", "yes", "80", "multi\\nline\\n", "tab\\there", "\'q\'", -x]\n' +
        '    stop_grace_period: 90s\n    environment: {E: 4, F: 1.10, G: null}\n    deploy:\n      resources:\n        limits: {memory: 256M, cpus: "0.50"}\n' +
        '    ulimits: {nproc: 65535, nofile: {soft: 1, hard: 2}}\n    labels: {b: "2024-06-11"}\n    x-z: 1\nx-top: [a]\n',
    });
    assert.equal(
      text,
      [
        'version: "3.13"',
        'services:',
        '  a:',
        '    command:',
        "      - 'a: b'",
        "      - '#x'",
        '      - "yes"',
        '      - "80"',
        '      - |',
        '        multi',
        '        line',
        '      - "tab\\there"',
        "      - '''q'''",
        '      - -x',
        '    deploy:',
        '      resources:',
        '        limits:',
        '          cpus: "0.50"',
        '          memory: "268435456"',
        '    environment:',
        '      E: "4"',
        '      F: "1.1"',
        '      G: null',
        '    image: busybox',
        '    labels:',
        '      b: "2024-06-11"',
        '    stop_grace_period: 1m30s',
        '    ulimits:',
        '      nofile:',
        '        soft: 1',
        '        hard: 2',
        '      nproc: 65535',
        '    x-z: 1',
        'x-top:',
        '  - a',
        '',
      ].join('\n'),
    );
  });

  it('prints the examples (interpolated with the test environment)', async () => {
    const config = await load(['interpolation.yml'], host(testEnv()));
    const app = config.services[0]!;
    assert.equal(app.image, 'registry.example.test/acme/app:2.3.1');
    assert.deepEqual(app.command, [
      'sh',
      '-c',
      'echo started in ${DEPLOY_REGION:-nowhere} && exec app-server',
    ]);
    assert.deepEqual(app.environment, {
      LOG_LEVEL: 'info',
      FEATURE_FLAGS: '',
      GREETING: 'cost is $5 per hour',
      SHELL_VAR: '$HOME',
      REGION: 'eu-west',
    });
    assert.deepEqual(app.labels, { 'com.example.build': '20240611.3', 'com.example.quirk': 'hour' });
    assert.equal(app.readOnly, false);
    assert.equal(app.deploy.replicas, 3);
    assert.equal(app.deploy.resources.limits?.memory, 268435456);
  });
});

describe('x-shoal', () => {
  it('accepts the long depends_on syntax only when asked for, and checks its own keys', async () => {
    const long =
      'services:\n  db:\n    image: x\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: service_healthy\n';
    assert.equal(await loadError({ 'a.yml': `${V}${long}` }), 'services.web.depends_on must be a list');
    const text = await configText({ 'a.yml': `${V}x-shoal:\n  depends_on: true\n${long}` });
    assert.match(text, /depends_on:\n {6}db:\n {8}condition: service_healthy\n/);
    assert.equal(
      await loadError({
        'a.yml': `${V}x-shoal:\n  depends_on: true\n${long.replace('service_healthy', 'healthy')}`,
      }),
      'services.web.depends_on.db.condition services.web.depends_on.db.condition must be one of the following: "service_started", "service_healthy", "service_completed_successfully"',
    );
    assert.equal(
      await loadError({ 'a.yml': `${V}x-shoal:\n  depend_on: true\n${long}` }),
      'x-shoal Additional property depend_on is not allowed',
    );
  });
});
