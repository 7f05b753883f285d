// The example stacks on a shoald whose tasks run on a Docker Engine (the docker executor honours mounts,
// ulimits, capabilities, a read-only root filesystem and the like, which the process executor refuses): each
// file is deployed as it is, with `--resolve-image never`, and must give the networks, secrets, configs and
// services its README lists; `stack rm` then leaves nothing. The images point at a registry that does not
// exist, so the tasks themselves never start — what is checked is the objects. The encrypted overlay of
// global-placement.yml is the one thing refused (shoal does not build it), before any service is created —
// so of the examples' acceptance (issue 14), that file is what is left.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, dockerdMissing, eventually, TestCluster } from '../harness/index.js';
import { STACKS } from '../unit/compose/support.js';

interface Named {
  Spec: { Name: string };
}

const EXAMPLES: {
  file: string[];
  stack: string;
  env?: Record<string, string>;
  externals?: boolean;
  networks: string[];
  secrets?: string[];
  configs?: string[];
  services: string[];
  /** The refusal expected, when shoal refuses part of the file. */
  refused?: RegExp;
}[] = [
  {
    file: ['web-worker-cache.yml'],
    stack: 'shop',
    networks: ['shop_backend', 'shop_frontend'],
    services: ['shop_cache', 'shop_web', 'shop_worker'],
  },
  {
    file: ['secrets-configs.yml'],
    stack: 'billing',
    externals: true,
    networks: ['billing_default'],
    secrets: ['billing-signing-key-v2', 'billing_db_password', 'billing_tls_key'],
    configs: ['billing_app_properties', 'billing_proxy_conf'],
    services: ['billing_api', 'billing_proxy'],
  },
  {
    file: ['interpolation.yml'],
    stack: 'interp',
    env: {
      APP_TAG: '2.3.1',
      APP_PORT: '8088',
      APP_REPLICAS: '3',
      DEPLOY_REGION: 'eu-west',
      UNIT: 'hour',
      BUILD_ID: '20240611.3',
      LOG_LEVEL: '',
    },
    networks: ['interp_default'],
    services: ['interp_app'],
  },
  {
    file: ['merge-base.yml', 'merge-override.yml'],
    stack: 'shopm',
    networks: ['shopm_default'],
    services: ['shopm_cache', 'shopm_metrics', 'shopm_web'],
  },
  {
    file: ['global-placement.yml'],
    stack: 'ops',
    // Created before ops_public, as Docker creates them in order; `stack rm` removes it.
    networks: ['ops_monitoring'],
    services: [],
    refused:
      /failed to create network ops_public: Error response from daemon: .*option "encrypted" is not supported/,
  },
];

describe('the example stacks on the docker executor', { timeout: 600_000, skip: dockerdMissing() }, () => {
  let cluster: TestCluster;

  before(async () => {
    dockerCli();
    cluster = await TestCluster.create({ hosts: ['solo'], dockerEngines: true });
    await cluster.init('solo');
  });
  afterEach((t) => cluster.reportOnFailure(t));
  after(async () => {
    await cluster?.destroy();
  });

  const shoal = async (args: string[], env: Record<string, string> = {}) =>
    cluster.manager.cli(args, { env, timeoutMs: 180_000 });
  const names = async (kind: 'services' | 'networks' | 'secrets' | 'configs', stack: string) => {
    const filters = encodeURIComponent(
      JSON.stringify({ label: { [`com.docker.stack.namespace=${stack}`]: true } }),
    );
    const list = await cluster.manager.apiOk<(Named | { Name: string })[]>(
      'GET',
      `/v1.44/${kind}?filters=${filters}`,
    );
    return list.map((o) => ('Spec' in o ? o.Spec.Name : o.Name)).sort();
  };

  for (const example of EXAMPLES) {
    it(`${example.file.join(' + ')} as ${example.stack}`, async () => {
      if (example.externals) {
        for (const [kind, name, file] of [
          ['secret', 'payment_gateway_token', 'secrets/db_password.txt'],
          ['config', 'corp-ca-bundle', 'configs/app.properties'],
        ] as const) {
          const made = await shoal([kind, 'create', name, join(STACKS, file)]);
          assert.equal(made.code, 0, made.stderr);
        }
      }
      const files = example.file.flatMap((f) => ['-c', join(STACKS, f)]);
      const deployed = await shoal(
        ['stack', 'deploy', '--resolve-image', 'never', ...files, example.stack],
        example.env,
      );
      if (example.refused) {
        assert.equal(deployed.code, 1);
        assert.match(deployed.stderr, example.refused);
      } else {
        assert.equal(deployed.code, 0, deployed.stderr);
      }
      assert.deepEqual(await names('services', example.stack), example.services);
      assert.deepEqual(await names('networks', example.stack), example.networks);
      assert.deepEqual(await names('secrets', example.stack), example.secrets ?? []);
      assert.deepEqual(await names('configs', example.stack), example.configs ?? []);
      const rm = await shoal(['stack', 'rm', example.stack]);
      assert.equal(rm.code, 0, rm.stderr);
      await eventually(
        async () => {
          for (const kind of ['services', 'networks', 'secrets', 'configs'] as const)
            assert.deepEqual(await names(kind, example.stack), [], `${kind} of ${example.stack} left`);
        },
        { timeoutMs: 30_000, description: `nothing of ${example.stack} left` },
      );
      if (example.externals) {
        await shoal(['secret', 'rm', 'payment_gateway_token']);
        await shoal(['config', 'rm', 'corp-ca-bundle']);
      }
    });
  }
});
