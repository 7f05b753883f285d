// The files a task gets for its secrets and configs, as Docker's daemon makes them (moby
// daemon/container_operations_unix.go setupSecretDir, container.SecretMounts): one file per reference
// with a file target, holding the secret's or config's data — rendered for this task on this node when it
// is a template (swarmkit template/: `--template-driver golang`) — owned by the reference's UID and GID,
// with its mode, seen by the task at its target: a secret's relative target below `/run/secrets`, a
// config's below `/`, an absolute one where it says.
//
// Both executors use this; how the files reach the task is theirs (a tmpfs bind-mounted into the container,
// or the task's own mount namespace). Nothing here writes anything: the data stays in memory.
//
// Error texts are Docker's (`unable to get secret from secret store: secret … not found`, `failed to
// expand templated config …: template: expansion:1:4: executing "expansion" at <secret "x">: error calling
// secret: secret target x not found`, Go's `strconv.Atoi: parsing "x": invalid syntax`), and never carry a
// secret's data: what a template error would quote of a secret's value is cut out, and a secret's own
// template (its data) failing is said by its position only (Docker prints Go's message, which quotes it).

import { posix } from 'node:path';
import { goStruct } from '../../api/gotemplate/govalue.js';
import { Template, TemplateError, type TemplateFuncSpec } from '../../api/gotemplate/template.js';
import { ownRecord } from '../../api/own.js';
import type { ConfigReference, SecretReference, Task } from '../../api/types.js';
import type { TaskDependencies } from './executor.js';
import type { TemplateNode } from './templates.js';

/** Where a secret with a relative target goes (moby's containerSecretMountPath). */
export const SECRETS_DIR = '/run/secrets';
/** What a config's relative target is relative to (moby's containerConfigMountPath). */
export const CONFIGS_DIR = '/';

export interface TaskFile {
  kind: 'secret' | 'config';
  /** The secret's or config's ID and name (for messages; the name as the reference gives it). */
  id: string;
  name: string;
  /** Where the task sees the file: absolute and clean. */
  target: string;
  uid: number;
  gid: number;
  /** Permission bits (what Go's os.Chmod applies of the reference's FileMode). */
  mode: number;
  data: Buffer;
}

/** Go's filepath.Join(base, name) for an absolute base: joined and cleaned. */
function joinClean(base: string, name: string): string {
  const joined = posix.normalize(posix.join(base, name));
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

/** Where the task sees a secret (moby's getSecretTargetPath): absolute as given, else below /run/secrets. */
export function secretTarget(name: string): string {
  return posix.isAbsolute(name) ? joinClean('/', name) : joinClean(SECRETS_DIR, name);
}

/** Where the task sees a config (moby's getConfigTargetPath): absolute as given, else below `/`. */
export function configTarget(name: string): string {
  return joinClean(CONFIGS_DIR, name);
}

/** Go's strconv.Atoi, with its error text. */
function atoi(text: string): number {
  if (!/^[+-]?\d+$/.test(text))
    throw new Error(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || Math.abs(value) > 2 ** 63 - 1)
    throw new Error(`strconv.Atoi: parsing ${JSON.stringify(text)}: value out of range`);
  return value;
}

/** A UID or GID the kernel takes (Docker passes the number to chown, which refuses what does not fit). */
function id(text: string, what: 'uid' | 'gid'): number {
  const value = atoi(text);
  if (value < 0 || value > 0xfffffffe) throw new Error(`invalid ${what} ${text}: out of range`);
  return value;
}

/**
 * The task's files, in the order of its references (secrets first). Throws with Docker's text when one
 * cannot be made: its data is not on the node, its template fails, its UID or GID is not a number.
 */
export function taskFiles(
  task: Task,
  dependencies: TaskDependencies | undefined,
  node: TemplateNode,
): TaskFile[] {
  const container = task.Spec.ContainerSpec ?? {};
  const files: TaskFile[] = [];
  const secrets = container.Secrets ?? [];
  const configs = container.Configs ?? [];
  if (secrets.length === 0 && configs.length === 0) return files;
  const payloads = new Payloads(task, dependencies, node);
  for (const ref of secrets) {
    if (!ref.File) continue; // swarmkit: only file targets exist
    const data = payloads.secret(ref);
    files.push({
      kind: 'secret',
      id: ref.SecretID,
      name: ref.SecretName,
      target: secretTarget(ref.File.Name),
      uid: id(ref.File.UID, 'uid'),
      gid: id(ref.File.GID, 'gid'),
      mode: ref.File.Mode & 0o777,
      data,
    });
  }
  for (const ref of configs) {
    if (!ref.File) continue; // a runtime target (a Windows credential spec) is no file
    const data = payloads.config(ref);
    files.push({
      kind: 'config',
      id: ref.ConfigID,
      name: ref.ConfigName,
      target: configTarget(ref.File.Name),
      uid: id(ref.File.UID, 'uid'),
      gid: id(ref.File.GID, 'gid'),
      mode: ref.File.Mode & 0o777,
      data,
    });
  }
  return files;
}

/**
 * The task's files once the node can have them: a task resumed after a daemon restart may be prepared
 * before the managers' first complete set brings its secrets and configs again, so a lookup that fails
 * then is tried again once that set has arrived (and fails for good if it did not bring them).
 */
export async function taskFilesWhenReady(
  task: Task,
  dependencies: TaskDependencies | undefined,
  node: TemplateNode,
): Promise<TaskFile[]> {
  try {
    return taskFiles(task, dependencies, node);
  } catch (err) {
    if (!dependencies || dependencies.complete) throw err;
    await dependencies.ready();
    return taskFiles(task, dependencies, node);
  }
}

/** Renders the task's secrets and configs (swarmkit's templated getters and PayloadContext). */
class Payloads {
  /** Plain values of secrets read so far: cut out of any error message. */
  private readonly secretValues = new Set<string>();

  constructor(
    private readonly task: Task,
    private readonly dependencies: TaskDependencies | undefined,
    private readonly node: TemplateNode,
  ) {}

  secret(ref: SecretReference): Buffer {
    const secret = this.lookup(() => this.getter().secret(ref.SecretID), 'secret');
    const raw = Buffer.from(secret.Data, 'base64');
    this.remember(raw);
    if (!secret.Templating?.Name) return raw;
    return this.render(
      raw,
      secret.Templating.Name,
      `failed to expand templated secret ${secret.ID}`,
      'secret',
    );
  }

  config(ref: ConfigReference): Buffer {
    const config = this.lookup(() => this.getter().config(ref.ConfigID), 'config');
    const raw = Buffer.from(config.Data, 'base64');
    if (!config.Templating?.Name) return raw;
    return this.render(
      raw,
      config.Templating.Name,
      `failed to expand templated config ${config.ID}`,
      'config',
    );
  }

  private getter(): TaskDependencies {
    if (!this.dependencies) throw new Error('no secret provider available');
    return this.dependencies;
  }

  private lookup<T>(get: () => T, kind: 'secret' | 'config'): T {
    try {
      return get();
    } catch (err) {
      throw new Error(`unable to get ${kind} from ${kind} store: ${(err as Error).message}`);
    }
  }

  private remember(value: Buffer): void {
    const text = value.toString('utf8');
    if (text.length === 0) return;
    this.secretValues.add(text);
    // A template error may quote a line of it, or the value trimmed.
    for (const part of [text.trim(), ...text.split(/\r?\n/)])
      if (part.length >= 4) this.secretValues.add(part);
  }

  private render(raw: Buffer, driver: string, what: string, kind: 'secret' | 'config'): Buffer {
    const fail = (message: string): never => {
      throw new Error(`unable to get ${kind} from ${kind} store: ${what}: ${this.scrub(message)}`);
    };
    if (driver !== 'golang') return fail('unrecognized template type');
    let output: string;
    try {
      const template = new Template(raw.toString('utf8'), {
        name: 'expansion',
        missingKey: 'error',
        noDockerFuncs: true,
        funcs: this.functions(),
      });
      output = template.execute(this.context());
    } catch (err) {
      // A secret's template is its data, and Go's messages quote it (`function "x" not defined`, `at <…>`,
      // `can't evaluate field X`): for a secret, only where it fails is said.
      if (err instanceof TemplateError)
        return fail(kind === 'secret' ? secretTemplateError(err.message) : err.message);
      throw err;
    }
    return Buffer.from(output, 'utf8');
  }

  /** Cuts every secret value read so far out of a message (Go's errors print values, e.g. `range can't iterate over …`). */
  private scrub(message: string): string {
    let result = message;
    const values = [...this.secretValues].sort((a, b) => b.length - a.length);
    for (const value of values) result = result.split(value).join('[secret data]');
    return result;
  }

  /** swarmkit's template functions: its `join`, and the payload context's `secret`, `config` and `env`. */
  private functions(): Record<string, TemplateFuncSpec> {
    const container = this.task.Spec.ContainerSpec ?? {};
    const getter = (): TaskDependencies => this.getter();
    return {
      join: {
        params: [],
        variadic: 'string',
        fn: (...parts: unknown[]) => {
          const strings = parts as string[];
          if (strings.length === 0) throw new Error('runtime error: index out of range [0] with length 0');
          return strings.slice(1).join(strings[0]);
        },
      },
      secret: {
        params: ['string'],
        fn: (target: unknown) => {
          const ref = (container.Secrets ?? []).find((r) => r.File?.Name === target);
          if (!ref) throw new Error(`secret target ${String(target)} not found`);
          const value = Buffer.from(getter().secret(ref.SecretID).Data, 'base64');
          this.remember(value);
          return value.toString('utf8');
        },
      },
      config: {
        params: ['string'],
        fn: (target: unknown) => {
          const ref = (container.Configs ?? []).find((r) => r.File?.Name === target);
          if (!ref) throw new Error(`config target ${String(target)} not found`);
          return Buffer.from(getter().config(ref.ConfigID).Data, 'base64').toString('utf8');
        },
      },
      env: {
        params: ['string'],
        fn: (name: unknown) => {
          for (const entry of container.Env ?? []) {
            const equals = entry.indexOf('=');
            if (equals > -1 && entry.slice(0, equals) === name) return entry.slice(equals + 1);
          }
          return '';
        },
      },
    };
  }

  /** swarmkit's PayloadContext: the task's service, node and task, typed as Go's structs for messages. */
  private context(): object {
    const task = this.task;
    const serviceName = task.ServiceAnnotations?.Name ?? '';
    const slot = task.Slot ? String(task.Slot) : (task.NodeID ?? '');
    const labels = ownRecord(
      Object.entries(task.ServiceAnnotations?.Labels ?? {}).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
    return goStruct(
      {
        Service: goStruct(
          { ID: task.ServiceID, Name: serviceName, Labels: labels },
          'struct { ID string; Name string; Labels map[string]string }',
        ),
        Node: goStruct(
          {
            ID: task.NodeID ?? '',
            Hostname: this.node.hostname,
            Platform: goStruct(
              { Architecture: this.node.architecture, OS: this.node.os },
              'template.Platform',
            ),
          },
          'struct { ID string; Hostname string; Platform template.Platform }',
        ),
        Task: goStruct(
          { ID: task.ID, Name: task.Name || `${serviceName}.${slot}.${task.ID}`, Slot: slot },
          'struct { ID string; Name string; Slot string }',
        ),
      },
      '*template.PayloadContext',
    );
  }
}

/**
 * A secret's template error as shoal shows it: Go's position (`template: expansion:1:7:`) and no more, since
 * the rest quotes the template, which is the secret's data.
 */
export function secretTemplateError(message: string): string {
  const at = /^template: expansion:\d+(?::\d+)?:/.exec(message)?.[0] ?? 'template:';
  return `${at} the template fails here (not shown: a secret's template is its data; the same template in a config shows why)`;
}
