// `stack deploy` as the docker CLI does it (cli/command/stack/swarm/deploy*.go; the calls and messages the
// docker CLI makes): must be a manager; `--prune` removes the services the file
// dropped; the networks services use are checked (external ones) and created when missing; every secret
// and config is created, or updated with the same content (Swarm refuses a changed one); each service's
// secret and config IDs are looked up by name; then each service is created, or updated with the whole
// converted spec — the image pinned as `--resolve-image` says, `ForceUpdate` kept so that nothing restarts
// by itself; `--detach=false` follows every service until it converges. Objects are handled in name order
// (Docker iterates maps).
//
// The same steps run for `stack deploy --dry-run` and `stack diff` with every write left out: what would
// be created, updated (field by field, as the daemon would store it) and removed is collected instead.

import type { ConfigSpec, SecretSpec, Service, ServiceSpec } from '../../api/types.js';
import { LABEL_IMAGE, LABEL_NAMESPACE, Namespace } from '../../compose/convert.js';
import {
  convertConfigs,
  convertNetworks,
  convertSecrets,
  convertService,
  resolveRefs,
  serviceConfigRefs,
  serviceSecretRefs,
  isUserDefinedNetwork,
  type NetworkCreate,
} from '../../compose/convert.js';
import { applyDependsOn } from '../../compose/depends-on.js';
import type { Config } from '../../compose/types.js';
import type { Cli } from '../cli.js';
import { compareVersions, isNotFound, type EngineClient } from '../client.js';
import { FilterArgs } from '../filter-args.js';
import { prepareServiceImage } from '../image.js';
import { retrieveAuthTokenFromImage } from '../registry-auth.js';
import { goBody, CONFIG_SPEC, RawJSON, SECRET_SPEC, SERVICE_SPEC } from '../wire.js';
import { readFileSync } from 'node:fs';
import { serviceChanges, type Change } from './diff.js';
import { waitOnService } from '../commands/service.js';

export type ResolveImage = 'always' | 'changed' | 'never';

export interface DeployOptions {
  stack: string;
  prune: boolean;
  resolveImage: ResolveImage;
  registryAuth: boolean;
  detach: boolean;
  quiet: boolean;
}

/** One thing a deploy would do (dry run, diff). */
export type PlanEntry =
  | { action: 'create'; kind: 'network' | 'secret' | 'config' | 'service'; name: string }
  | { action: 'update'; kind: 'secret' | 'config' | 'service'; name: string; id: string; changes: Change[] }
  | { action: 'remove'; kind: 'service'; name: string; id: string };

export const stackFilter = (stack: string): FilterArgs =>
  new FilterArgs().add('label', `${LABEL_NAMESPACE}=${stack}`);

const NOT_A_MANAGER =
  'this node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again';

/** The placeholder ID a dry run gives an object it would create. */
const WOULD_CREATE = '<would be created>';

class Deployment {
  readonly plan: PlanEntry[] = [];
  private readonly client: EngineClient;
  private readonly namespace: Namespace;
  /** Names of networks with their IDs, for comparing network attachments in a plan. */
  private readonly networkIDs = new Map<string, string>();

  constructor(
    private readonly cli: Cli,
    private readonly config: Config,
    private readonly opts: DeployOptions,
    /** Writes are left out and the plan collected (`--dry-run`, `stack diff`). */
    private readonly dryRun: boolean,
  ) {
    this.client = cli.client();
    this.namespace = new Namespace(opts.stack);
  }

  private print(line: string): void {
    if (!this.dryRun) this.cli.out.write(line + '\n');
  }

  async run(): Promise<string[]> {
    const info = await this.client.info();
    if (!info.Swarm?.ControlAvailable) throw new Error(NOT_A_MANAGER);
    if (this.opts.prune) await this.pruneServices();
    const networks = convertNetworks(this.namespace, this.config);
    await this.validateExternalNetworks(networks.external);
    await this.createNetworks(networks.create);
    const read = (path: string): Uint8Array => readFileSync(path);
    await this.createSecrets(convertSecrets(this.namespace, this.config, read));
    await this.createConfigs(convertConfigs(this.namespace, this.config, read));
    const services = await this.convertServices();
    applyDependsOn(this.config, this.opts.stack, services);
    return this.deployServices(services);
  }

  // ---------------------------------------------------------------- prune

  private async pruneServices(): Promise<void> {
    let existing: Service[] = [];
    try {
      existing = await this.client.serviceList({ filters: stackFilter(this.opts.stack) });
    } catch (e) {
      this.cli.err.write(`Failed to list services: ${(e as Error).message}\n`);
    }
    const keep = new Set(this.config.services.map((s) => s.name));
    const gone = existing
      .filter((s) => !keep.has(this.namespace.descope(s.Spec.Name ?? '')))
      .sort((a, b) => ((a.Spec.Name ?? '') < (b.Spec.Name ?? '') ? -1 : 1));
    for (const service of gone) {
      if (this.dryRun) {
        this.plan.push({ action: 'remove', kind: 'service', name: service.Spec.Name ?? '', id: service.ID });
        continue;
      }
      this.print(`Removing service ${service.Spec.Name ?? ''}`);
      try {
        await this.client.serviceRemove(service.ID);
      } catch (e) {
        this.cli.err.write(`Failed to remove service ${service.ID}: ${(e as Error).message}`);
      }
    }
  }

  // ---------------------------------------------------------------- networks

  private async validateExternalNetworks(names: readonly string[]): Promise<void> {
    for (const name of names) {
      if (!isUserDefinedNetwork(name)) continue;
      let network: { Id: string; Name: string; Scope?: string };
      try {
        network = (await this.client.networkInspect(name)) as { Id: string; Name: string; Scope?: string };
      } catch (e) {
        if (isNotFound(e)) {
          throw new Error(
            `network "${name}" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed`,
          );
        }
        throw e;
      }
      if (network.Scope !== 'swarm') {
        throw new Error(
          `network "${name}" is declared as external, but it is not in the right scope: "${network.Scope ?? ''}" instead of "swarm"`,
        );
      }
      this.networkIDs.set(name, network.Id);
    }
  }

  private async createNetworks(networks: readonly NetworkCreate[]): Promise<void> {
    const existing = await this.client.networkList(stackFilter(this.opts.stack));
    for (const n of existing) this.networkIDs.set(n.Name, n.Id);
    const version = await this.client.apiVersion();
    for (const network of networks) {
      if (this.networkIDs.has(network.name)) continue;
      if (this.dryRun) {
        this.plan.push({ action: 'create', kind: 'network', name: network.name });
        continue;
      }
      this.print(`Creating network ${network.name}`);
      try {
        const { Id } = await this.client.networkCreate(networkCreateBody(network, version));
        this.networkIDs.set(network.name, Id);
      } catch (e) {
        throw new Error(`failed to create network ${network.name}: ${(e as Error).message}`);
      }
    }
  }

  // ---------------------------------------------------------------- secrets and configs

  private async createSecrets(secrets: readonly SecretSpec[]): Promise<void> {
    for (const spec of secrets) {
      let existing;
      try {
        existing = await this.client.secretInspect(spec.Name ?? '');
      } catch (e) {
        if (!isNotFound(e)) throw e;
        if (this.dryRun) {
          this.plan.push({ action: 'create', kind: 'secret', name: spec.Name ?? '' });
          continue;
        }
        this.print(`Creating secret ${spec.Name ?? ''}`);
        try {
          await this.client.secretCreate(goBody(spec, SECRET_SPEC));
        } catch (err) {
          throw new Error(`failed to create secret ${spec.Name ?? ''}: ${(err as Error).message}`);
        }
        continue;
      }
      if (this.dryRun) {
        // The daemon never returns a secret's data: only its labels can be compared.
        const changes = labelChanges(existing.Spec.Labels, spec.Labels);
        if (changes.length > 0) {
          this.plan.push({
            action: 'update',
            kind: 'secret',
            name: spec.Name ?? '',
            id: existing.ID,
            changes,
          });
        }
        continue;
      }
      try {
        await this.client.secretUpdate(existing.ID, existing.Version.Index, goBody(spec, SECRET_SPEC));
      } catch (e) {
        throw new Error(`failed to update secret ${spec.Name ?? ''}: ${(e as Error).message}`);
      }
    }
  }

  private async createConfigs(configs: readonly ConfigSpec[]): Promise<void> {
    for (const spec of configs) {
      let existing;
      try {
        existing = await this.client.configInspect(spec.Name ?? '');
      } catch (e) {
        if (!isNotFound(e)) throw e;
        if (this.dryRun) {
          this.plan.push({ action: 'create', kind: 'config', name: spec.Name ?? '' });
          continue;
        }
        this.print(`Creating config ${spec.Name ?? ''}`);
        try {
          await this.client.configCreate(goBody(spec, CONFIG_SPEC));
        } catch (err) {
          throw new Error(`failed to create config ${spec.Name ?? ''}: ${(err as Error).message}`);
        }
        continue;
      }
      if (this.dryRun) {
        const changes = labelChanges(existing.Spec.Labels, spec.Labels);
        if ((existing.Spec.Data ?? '') !== (spec.Data ?? '')) {
          changes.push({
            path: 'Data',
            before: '(the current content)',
            after: '(the file’s content: refused, only updates to Labels are allowed)',
          });
        }
        if (changes.length > 0) {
          this.plan.push({
            action: 'update',
            kind: 'config',
            name: spec.Name ?? '',
            id: existing.ID,
            changes,
          });
        }
        continue;
      }
      try {
        await this.client.configUpdate(existing.ID, existing.Version.Index, goBody(spec, CONFIG_SPEC));
      } catch (e) {
        throw new Error(`failed to update config ${spec.Name ?? ''}: ${(e as Error).message}`);
      }
    }
  }

  // ---------------------------------------------------------------- services

  /** A list of secrets or configs by name, as ParseSecrets/ParseConfigs look them up. */
  private async lookup(kind: 'secret' | 'config', names: readonly string[]): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    if (names.length === 0) return ids;
    const filter = new FilterArgs();
    for (const name of new Set(names)) filter.add('name', name);
    const found =
      kind === 'secret' ? await this.client.secretList(filter) : await this.client.configList(filter);
    for (const obj of found) ids.set(obj.Spec.Name ?? '', obj.ID);
    if (this.dryRun) {
      // What this run would have created has no ID yet.
      for (const entry of this.plan) {
        if (entry.action === 'create' && entry.kind === kind && !ids.has(entry.name))
          ids.set(entry.name, WOULD_CREATE);
      }
    }
    return ids;
  }

  private async convertServices(): Promise<{ key: string; spec: ServiceSpec }[]> {
    const out: { key: string; spec: ServiceSpec }[] = [];
    for (const service of this.config.services) {
      try {
        const secretRefs = serviceSecretRefs(this.namespace, service, this.config);
        const secretIDs = await this.lookup(
          'secret',
          secretRefs.map((r) => r.name),
        );
        const secrets = resolveRefs(secretRefs, secretIDs, 'secret');
        const configRefs = serviceConfigRefs(this.namespace, service, this.config);
        const configIDs = await this.lookup(
          'config',
          configRefs.map((r) => r.name),
        );
        const configs = resolveRefs(configRefs, configIDs, 'config');
        out.push({
          key: service.name,
          spec: convertService(this.namespace, service, this.config, secrets, configs),
        });
      } catch (e) {
        throw new Error(`service ${service.name}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  private async deployServices(services: { key: string; spec: ServiceSpec }[]): Promise<string[]> {
    const existing = await this.client.serviceList({ filters: stackFilter(this.opts.stack) });
    const byName = new Map(existing.map((s) => [s.Spec.Name ?? '', s]));
    const canQuery = compareVersions(await this.client.apiVersion(), '1.30') >= 0;
    const resolveImage: ResolveImage = canQuery ? this.opts.resolveImage : 'never';
    const ids: string[] = [];
    for (const { spec } of services) {
      const name = spec.Name ?? '';
      const image = spec.TaskTemplate?.ContainerSpec?.Image ?? '';
      const registryAuth = this.opts.registryAuth
        ? await retrieveAuthTokenFromImage(image, {
            env: this.cli.env,
            warn: (line) => this.cli.err.write(line + '\n'),
          })
        : undefined;
      const current = byName.get(name);
      if (current) {
        this.print(`Updating service ${name} (id: ${current.ID})`);
        let query = false;
        if (resolveImage === 'always') query = true;
        else if (image !== (current.Spec.Labels ?? {})[LABEL_IMAGE]) query = resolveImage === 'changed';
        else spec.TaskTemplate!.ContainerSpec!.Image = current.Spec.TaskTemplate?.ContainerSpec?.Image;
        spec.TaskTemplate!.ForceUpdate = current.Spec.TaskTemplate?.ForceUpdate ?? 0;
        const warning = await prepareServiceImage(this.client, spec as Record<string, unknown>, {
          queryRegistry: query,
          registryAuth,
        });
        if (this.dryRun) {
          const changes = serviceChanges(current.Spec, spec, this.networkIDs);
          if (changes.length > 0)
            this.plan.push({ action: 'update', kind: 'service', name, id: current.ID, changes });
          continue;
        }
        let response;
        try {
          response = await this.client.serviceUpdate(
            current.ID,
            current.Version.Index,
            goBody(spec, SERVICE_SPEC),
            {
              ...(registryAuth ? { registryAuth } : {}),
            },
          );
        } catch (e) {
          throw new Error(`failed to update service ${name}: ${(e as Error).message}`);
        }
        for (const w of [...(response.Warnings ?? []), ...(warning ? [warning] : [])])
          this.cli.err.write(w + '\n');
        ids.push(current.ID);
      } else {
        this.print(`Creating service ${name}`);
        await prepareServiceImage(this.client, spec as Record<string, unknown>, {
          queryRegistry: resolveImage !== 'never',
          registryAuth,
        });
        if (this.dryRun) {
          this.plan.push({ action: 'create', kind: 'service', name });
          continue;
        }
        try {
          // Create warnings are not printed (Docker's deploy drops them).
          const { ID } = await this.client.serviceCreate(
            goBody(spec, SERVICE_SPEC),
            registryAuth || undefined,
          );
          ids.push(ID);
        } catch (e) {
          throw new Error(`failed to create service ${name}: ${(e as Error).message}`);
        }
      }
    }
    return ids;
  }
}

/** network.CreateRequest as the docker CLI's client encodes it for a stack network. */
function networkCreateBody(network: NetworkCreate, apiVersion: string): RawJSON {
  const json = (v: unknown): string => JSON.stringify(v);
  const map = (m: Readonly<Record<string, string>> | undefined): string => {
    if (!m) return 'null';
    const entries = Object.entries(m).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `{${entries.map(([k, v]) => `${json(k)}:${json(v)}`).join(',')}}`;
  };
  const ipam = network.ipam
    ? `{"Driver":${json(network.ipam.driver)},"Options":null,"Config":${
        network.ipam.config
          ? `[${network.ipam.config.map((c) => (c.subnet ? `{"Subnet":${json(c.subnet)}}` : '{}')).join(',')}]`
          : 'null'
      }}`
    : 'null';
  const parts = [
    `"Driver":${json(network.driver)}`,
    '"Scope":""',
    `"IPAM":${ipam}`,
    `"Internal":${network.internal}`,
    `"Attachable":${network.attachable}`,
    '"Ingress":false',
    '"ConfigOnly":false',
    '"ConfigFrom":null',
    `"Options":${map(network.options)}`,
    `"Labels":${map(network.labels)}`,
    `"Name":${json(network.name)}`,
  ];
  if (compareVersions(apiVersion, '1.44') < 0) parts.push('"CheckDuplicate":true');
  return new RawJSON(`{${parts.join(',')}}`);
}

function labelChanges(
  before: Readonly<Record<string, string>> | undefined,
  after: Readonly<Record<string, string>> | undefined,
): Change[] {
  const a = JSON.stringify(Object.entries(before ?? {}).sort());
  const b = JSON.stringify(Object.entries(after ?? {}).sort());
  return a === b ? [] : [{ path: 'Labels', before: before ?? {}, after: after ?? {} }];
}

/** deployCompose: the deploy, then the wait for every service unless detached. */
export async function deployStack(cli: Cli, config: Config, opts: DeployOptions): Promise<void> {
  const ids = await new Deployment(cli, config, opts, false).run();
  if (opts.detach) return;
  const errors: string[] = [];
  for (const id of ids) {
    try {
      await waitOnService(cli, id, opts.quiet);
    } catch (e) {
      errors.push(`${id}: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));
}

/** What a deploy would do, changing nothing. */
export async function planStack(cli: Cli, config: Config, opts: DeployOptions): Promise<PlanEntry[]> {
  const deployment = new Deployment(cli, config, opts, true);
  await deployment.run();
  return deployment.plan;
}
