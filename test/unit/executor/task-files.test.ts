// A task's secret and config files (src/agent/executor/task-files.ts): targets resolved as moby resolves
// them, owners and modes from the references, templates rendered as swarmkit renders them (checked
// against what Docker 20.10 printed for the same templates), and Docker's errors — without the data.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigAssignment, SecretAssignment } from '../../../src/api/dispatcher.js';
import type { Task } from '../../../src/api/types.js';
import { DependencyStore } from '../../../src/agent/dependencies.js';
import {
  configTarget,
  secretTarget,
  taskFiles,
  type TaskFile,
} from '../../../src/agent/executor/task-files.js';

const node = { hostname: 'node-1', os: 'linux', architecture: 'x86_64' };
const b64 = (text: string): string => Buffer.from(text).toString('base64');

function task(
  secrets: [id: string, target: string, mode?: number][],
  configs: [id: string, target: string, mode?: number][] = [],
  extra: Partial<Task> = {},
): Task {
  return {
    ID: 'task1',
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    ServiceID: 'svc1',
    ServiceAnnotations: { Name: 'web', Labels: { tier: 'front' } },
    Slot: 3,
    NodeID: 'node1',
    Spec: {
      ContainerSpec: {
        Image: 'busybox',
        Env: ['FOO=bar', 'EMPTY='],
        Secrets: secrets.map(([id, target, mode]) => ({
          SecretID: id,
          SecretName: `name-${id}`,
          File: { Name: target, UID: '0', GID: '0', Mode: mode ?? 0o444 },
        })),
        Configs: configs.map(([id, target, mode]) => ({
          ConfigID: id,
          ConfigName: `name-${id}`,
          File: { Name: target, UID: '0', GID: '0', Mode: mode ?? 0o444 },
        })),
      },
    },
    Status: { Timestamp: '', State: 'assigned', Message: '' },
    DesiredState: 'running',
    ...extra,
  };
}

function store(secrets: SecretAssignment[], configs: ConfigAssignment[] = []): DependencyStore {
  const deps = new DependencyStore();
  for (const s of secrets) deps.updateSecret(s);
  for (const c of configs) deps.updateConfig(c);
  deps.completed();
  return deps;
}

const files = (t: Task, deps: DependencyStore): TaskFile[] => taskFiles(t, deps.restrict(t), node);
const text = (file: TaskFile | undefined): string => file?.data.toString('utf8') ?? '';

describe('task files: targets', () => {
  it("resolves secrets' targets below /run/secrets unless absolute, as moby does", () => {
    assert.equal(secretTarget('db_pw'), '/run/secrets/db_pw');
    assert.equal(secretTarget('a/b/c'), '/run/secrets/a/b/c');
    assert.equal(secretTarget('../../etc/x'), '/etc/x');
    assert.equal(secretTarget('/etc/db_pw'), '/etc/db_pw');
    assert.equal(secretTarget('/etc//x/../y/'), '/etc/y');
  });

  it("resolves configs' targets below / unless absolute", () => {
    assert.equal(configTarget('app'), '/app');
    assert.equal(configTarget('relative/x'), '/relative/x');
    assert.equal(configTarget('/etc/app.conf'), '/etc/app.conf');
    assert.equal(configTarget('/'), '/');
  });
});

describe('task files', () => {
  it("makes one file per reference with the reference's owner and mode", () => {
    const t = task([['s1', 'db_pw', 0o400]], [['c1', '/etc/app.conf', 0o440]]);
    t.Spec.ContainerSpec!.Secrets![0]!.File!.UID = '1000';
    t.Spec.ContainerSpec!.Secrets![0]!.File!.GID = '50';
    const deps = store(
      [{ ID: 's1', Name: 'db_pw', Data: b64('s3cret') }],
      [{ ID: 'c1', Name: 'app', Data: b64('listen 80\n') }],
    );
    assert.deepEqual(files(t, deps), [
      {
        kind: 'secret',
        id: 's1',
        name: 'name-s1',
        target: '/run/secrets/db_pw',
        uid: 1000,
        gid: 50,
        mode: 0o400,
        data: Buffer.from('s3cret'),
      },
      {
        kind: 'config',
        id: 'c1',
        name: 'name-c1',
        target: '/etc/app.conf',
        uid: 0,
        gid: 0,
        mode: 0o440,
        data: Buffer.from('listen 80\n'),
      },
    ]);
  });

  it('renders a golang template per task, with the placeholders Docker 20.10 rendered for the same template', () => {
    // Docker 20.10 printed: slot=1 node= svc=good env=bar sec=s3cret labels=map[a:b] os= arch= task=good.1.<id> j=a,b
    // (its node fields are empty: Docker passed no node description; shoal passes the node's).
    const template =
      'slot={{.Task.Slot}} node={{.Node.Hostname}} svc={{.Service.Name}} env={{env "FOO"}} ' +
      'sec={{secret "db_pw"}} labels={{.Service.Labels}} os={{.Node.Platform.OS}} ' +
      'arch={{.Node.Platform.Architecture}} task={{.Task.Name}} j={{join "," "a" "b"}} ' +
      'id={{.Task.ID}} svcid={{.Service.ID}} nodeid={{.Node.ID}} missing-env=[{{env "NOPE"}}] ' +
      'label={{index .Service.Labels "tier"}} cfg={{config "raw"}}\n';
    const t = task(
      [['s1', 'db_pw']],
      [
        ['c1', '/etc/app.conf'],
        ['c2', 'raw'],
      ],
    );
    const deps = store(
      [{ ID: 's1', Name: 'db_pw', Data: b64('s3cret') }],
      [
        { ID: 'c1', Name: 'tpl', Data: b64(template), Templating: { Name: 'golang' } },
        { ID: 'c2', Name: 'raw', Data: b64('{{.Task.Slot}}'), Templating: { Name: 'golang' } },
      ],
    );
    const [, rendered, raw] = files(t, deps);
    assert.equal(
      text(rendered),
      'slot=3 node=node-1 svc=web env=bar sec=s3cret labels=map[tier:front] os=linux arch=x86_64 ' +
        'task=web.3.task1 j=a,b id=task1 svcid=svc1 nodeid=node1 missing-env=[] label=front cfg={{.Task.Slot}}\n',
    );
    assert.equal(
      text(raw),
      '3',
      'each config is rendered; `config` gives another one unrendered, as swarmkit',
    );
  });

  it("renders a global task's slot as its node's ID, and a templated secret", () => {
    const t = task([['s1', 'tsec']], [], { Slot: 0 });
    const deps = store([
      {
        ID: 's1',
        Name: 'tsec',
        Data: b64('{{.Task.Slot}}-{{.Node.Hostname}}'),
        Templating: { Name: 'golang' },
      },
    ]);
    assert.equal(text(files(t, deps)[0]), 'node1-node-1');
  });

  it('leaves data that is not a template alone, template-looking or not', () => {
    const t = task([['s1', 'x']]);
    const deps = store([{ ID: 's1', Name: 'x', Data: b64('{{.Task.Slot}}') }]);
    assert.equal(text(files(t, deps)[0]), '{{.Task.Slot}}');
  });

  it("refuses a template naming a secret the task does not reference, with Docker's text", () => {
    const t = task([['s1', 'db_pw']], [['c1', '/x']]);
    const deps = store(
      [
        { ID: 's1', Name: 'db_pw', Data: b64('s3cret') },
        { ID: 'other', Name: 'other', Data: b64('not-yours') },
      ],
      [{ ID: 'c1', Name: 'bad', Data: b64('x={{secret "other"}}'), Templating: { Name: 'golang' } }],
    );
    assert.throws(() => files(t, deps), {
      message:
        'unable to get config from config store: failed to expand templated config c1: template: expansion:1:4: ' +
        'executing "expansion" at <secret "other">: error calling secret: secret target other not found',
    });
  });

  it("refuses unknown fields and functions with Go's texts (swarmkit: missingkey=error, no Docker CLI functions)", () => {
    const deps = (data: string) =>
      store([], [{ ID: 'c1', Name: 'bad', Data: b64(data), Templating: { Name: 'golang' } }]);
    const t = task([], [['c1', '/x']]);
    assert.throws(() => files(t, deps('y={{.Nope}}')), {
      message:
        'unable to get config from config store: failed to expand templated config c1: template: expansion:1:4: ' +
        'executing "expansion" at <.Nope>: can\'t evaluate field Nope in type *template.PayloadContext',
    });
    assert.throws(() => files(t, deps('z={{upper "a"}}')), {
      message:
        'unable to get config from config store: failed to expand templated config c1: template: expansion:1: ' +
        'function "upper" not defined',
    });
    assert.equal(
      text(files(t, deps('[{{index .Service.Labels "nope"}}]'))[0]),
      '[]',
      'index gives the zero value',
    );
    assert.throws(() => files(t, deps('{{.Service.Labels.nope}}')), /map has no entry for key "nope"/);
  });

  it('never quotes a secret in an error', () => {
    const t = task([['s1', 'db_pw']], [['c1', '/x']]);
    const deps = store(
      [{ ID: 's1', Name: 'db_pw', Data: b64('hunter2-value') }],
      [{ ID: 'c1', Name: 'c', Data: b64('{{range secret "db_pw"}}{{end}}'), Templating: { Name: 'golang' } }],
    );
    assert.throws(
      () => files(t, deps),
      (err: Error) =>
        !err.message.includes('hunter2') && /range can't iterate over \[secret data\]/.test(err.message),
    );
  });

  it("does not quote a secret's template in its errors: it is the secret's data", () => {
    const t = task([['s1', 'x']]);
    const failing = (template: string) =>
      store([{ ID: 's1', Name: 'x', Data: b64(template), Templating: { Name: 'golang' } }]);
    const hidden = "(not shown: a secret's template is its data; the same template in a config shows why)";
    assert.throws(() => files(t, failing('pw={{hunter2 "abc"}}')), {
      message: `unable to get secret from secret store: failed to expand templated secret s1: template: expansion:1: the template fails here ${hidden}`,
    });
    assert.throws(() => files(t, failing('\n{{.Task.Hunter2}}')), {
      message: `unable to get secret from secret store: failed to expand templated secret s1: template: expansion:2:7: the template fails here ${hidden}`,
    });
    // Not a template error: said as swarmkit says it.
    assert.throws(
      () => files(t, store([{ ID: 's1', Name: 'x', Data: b64('pw'), Templating: { Name: 'jinja' } }])),
      {
        message:
          'unable to get secret from secret store: failed to expand templated secret s1: unrecognized template type',
      },
    );
  });

  it('says what is missing, and what the task may not see', () => {
    const t = task([['s1', 'db_pw']]);
    assert.throws(() => files(t, store([])), {
      message: 'unable to get secret from secret store: secret s1 not found',
    });
    const other = task([['s2', 'x']]);
    const deps = store([{ ID: 's1', Name: 'db_pw', Data: b64('s3cret') }]);
    assert.throws(() => deps.restrict(other).secret('s1'), {
      message: 'task not authorized to access secret s1',
    });
  });

  it("refuses an owner that is not a number with Go's strconv text", () => {
    const t = task([['s1', 'db_pw']]);
    t.Spec.ContainerSpec!.Secrets![0]!.File!.UID = 'nobody';
    assert.throws(() => files(t, store([{ ID: 's1', Name: 'db_pw', Data: b64('x') }])), {
      message: 'strconv.Atoi: parsing "nobody": invalid syntax',
    });
  });

  it('has nothing to do for a task without secrets or configs, dependencies or not', () => {
    assert.deepEqual(taskFiles(task([]), undefined, node), []);
  });
});
