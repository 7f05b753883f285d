import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  FormatError,
  formatInspect,
  formatList,
  renderFormat,
  resolveListFormat,
  templateText,
} from '../../../src/cli/format/formatter.js';
import { GO_TYPE } from '../../../src/cli/format/govalue.js';

// docker/cli's context list row (formatter.clientContextContext), used because `docker context ls`
// runs without a daemon: the expected outputs below were printed by the real docker 28.2.2 CLI.
class ClientContext {
  readonly [GO_TYPE] = '*formatter.clientContextContext';
  constructor(
    private readonly c: {
      name: string;
      current: boolean;
      description: string;
      endpoint: string;
      error: string;
    },
  ) {}
  get Name(): string {
    return this.c.name;
  }
  get Current(): boolean {
    return this.c.current;
  }
  get Description(): string {
    return this.c.description;
  }
  get DockerEndpoint(): string {
    return this.c.endpoint;
  }
  get Error(): string {
    return this.c.error;
  }
}

const defaultCtx = new ClientContext({
  name: 'default',
  current: true,
  description: 'Current DOCKER_HOST based configuration',
  endpoint: 'unix:///var/run/docker.sock',
  error: '',
});

const contextList = {
  defaultTableFormat:
    'table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}',
  quietFormat: '{{.Name}}',
  header: { Name: 'NAME', Description: 'DESCRIPTION', DockerEndpoint: 'DOCKER ENDPOINT', Error: 'ERROR' },
};

const contextLs = (format: string, quiet = false): string =>
  formatList([defaultCtx], { ...contextList, format, quiet });

describe('formatList: outputs of the real docker CLI', () => {
  const cases: [string, string][] = [
    [
      '',
      'NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\n' +
        'default *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \n',
    ],
    [
      'table',
      'NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\n' +
        'default *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \n',
    ],
    ['table {{.Name}}\\t{{.Current}}', 'NAME      <no value>\ndefault   true\n'],
    ['  {{.Name}}\\t{{.Current}}\\n  ', 'default\ttrue\n\n'],
    [
      'table {{upper .Name}}\\t{{json .Current}}\\t{{pad .Name 1 1}}|{{truncate .Name 3}}',
      'NAME      \nDEFAULT   true       default |def\n',
    ],
    [
      'table {{.Name}}:{{.Description}}',
      'NAME:DESCRIPTION\ndefault:Current DOCKER_HOST based configuration\n',
    ],
    [
      'json',
      '{"Current":true,"Description":"Current DOCKER_HOST based configuration",' +
        '"DockerEndpoint":"unix:///var/run/docker.sock","Error":"","Name":"default"}\n',
    ],
    ['{{json .Name | upper}}', '"DEFAULT"\n'],
  ];
  for (const [format, want] of cases) it(JSON.stringify(format), () => assert.equal(contextLs(format), want));

  it('-q with the table format prints the quiet format', () => {
    assert.equal(contextLs('', true), 'default\n');
    assert.equal(contextLs('table', true), 'default\n');
  });

  const errors: [string, string][] = [
    [
      '{{.Nope}}',
      'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.clientContextContext',
    ],
    [
      'table {{.Name}}\\t{{.Nope}}',
      'template parsing error: template: :1:12: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.clientContextContext',
    ],
    [
      '{{range 3}}{{.}}{{end}}|{{with .Nope}}{{end}}',
      'template parsing error: template: :1:31: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.clientContextContext',
    ],
    [
      'table {{.Name}}\\t{{.Description | upper}}\\t{{pad .Current 1 1}}|',
      'template parsing error: template: :1:41: executing "" at <.Current>: wrong type for value; expected string; got bool',
    ],
    ['{{', 'template parsing error: template: :1: unclosed action'],
  ];
  for (const [format, message] of errors) {
    it(`error: ${format}`, () => {
      assert.throws(
        () => contextLs(format),
        (e: unknown) => e instanceof FormatError && e.message === message,
      );
    });
  }
});

describe('formatList: service ls style', () => {
  const header = {
    ID: 'ID',
    Name: 'NAME',
    Mode: 'MODE',
    Replicas: 'REPLICAS',
    Image: 'IMAGE',
    Ports: 'PORTS',
  };
  const defaultTableFormat = 'table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}';
  const rows = [
    {
      ID: 'kq2k9qh4bmg8',
      Name: 'web',
      Mode: 'replicated',
      Replicas: '3/3',
      Image: 'nginx:latest',
      Ports: '*:80->80/tcp',
    },
    {
      ID: 'x8nwy1lu2cpa',
      Name: 'monitoring_agent',
      Mode: 'global',
      Replicas: '2/2',
      Image: 'agent:1.2',
      Ports: '',
    },
  ];
  it('default table', () => {
    assert.equal(
      formatList(rows, { header, defaultTableFormat }),
      'ID             NAME               MODE         REPLICAS   IMAGE          PORTS\n' +
        'kq2k9qh4bmg8   web                replicated   3/3        nginx:latest   *:80->80/tcp\n' +
        'x8nwy1lu2cpa   monitoring_agent   global       2/2        agent:1.2      \n',
    );
  });
  it('-q', () =>
    assert.equal(
      formatList(rows, { header, defaultTableFormat, quiet: true }),
      'kq2k9qh4bmg8\nx8nwy1lu2cpa\n',
    ));
  it('-q is ignored with a custom format (docker service ls)', () => {
    assert.equal(
      formatList(rows, { header, defaultTableFormat, quiet: true, format: '{{.Name}}' }),
      'web\nmonitoring_agent\n',
    );
  });
  it('custom table with headers', () => {
    assert.equal(
      formatList(rows, { header, defaultTableFormat, format: 'table {{.Name}}\t{{.Replicas}}' }),
      'NAME               REPLICAS\nweb                3/3\nmonitoring_agent   2/2\n',
    );
  });
  it('json, one object per line in the row object order', () => {
    assert.equal(
      formatList(rows.slice(0, 1), { header, defaultTableFormat, format: 'json' }),
      '{"ID":"kq2k9qh4bmg8","Name":"web","Mode":"replicated","Replicas":"3/3","Image":"nginx:latest","Ports":"*:80->80/tcp"}\n',
    );
  });
  it('no rows: a table prints its header, a template nothing', () => {
    assert.equal(
      formatList([], { header, defaultTableFormat }),
      'ID        NAME      MODE      REPLICAS   IMAGE     PORTS\n',
    );
    assert.equal(formatList([], { header, defaultTableFormat, format: '{{.ID}}' }), '');
    assert.equal(formatList([], { header, defaultTableFormat, format: 'json' }), '');
  });
  it('config-file format applies when --format is not given and not quiet', () => {
    const opts = { header, defaultTableFormat, configFormat: 'table {{.ID}}' };
    assert.equal(formatList(rows, opts), 'ID\nkq2k9qh4bmg8\nx8nwy1lu2cpa\n');
    assert.equal(formatList(rows, { ...opts, quiet: true }), 'kq2k9qh4bmg8\nx8nwy1lu2cpa\n');
  });
  it('raw format', () => {
    const opts = {
      header,
      defaultTableFormat,
      rawFormat: 'id: {{.ID}}\\nname: {{.Name}}\\n',
      rawQuietFormat: 'id: {{.ID}}',
      format: 'raw',
    };
    assert.equal(formatList(rows.slice(0, 1), opts), 'id: kq2k9qh4bmg8\nname: web\n\n');
    assert.equal(formatList(rows.slice(0, 1), { ...opts, quiet: true }), 'id: kq2k9qh4bmg8\n');
  });
  it('multi-line rows go through the tabwriter', () => {
    assert.equal(
      renderFormat('table {{.ID}}\t{{.Name}}\n{{.Mode}}\t{{.Image}}', rows.slice(0, 1), header),
      'ID             NAME\nMODE           IMAGE\nkq2k9qh4bmg8   web\nreplicated     nginx:latest\n',
    );
  });
});

describe('format resolution', () => {
  const base = { defaultTableFormat: 'table {{.ID}}\t{{.Name}}' };
  const cases: [Parameters<typeof resolveListFormat>[0], string][] = [
    [base, 'table {{.ID}}\t{{.Name}}'],
    [{ ...base, format: 'table' }, 'table {{.ID}}\t{{.Name}}'],
    [{ ...base, quiet: true }, '{{.ID}}'],
    [{ ...base, quiet: true, quietFormat: '{{.Name}}' }, '{{.Name}}'],
    [{ ...base, format: 'json', quiet: true }, 'json'],
    [{ ...base, format: 'raw' }, 'raw'],
    [{ ...base, format: '{{.X}}' }, '{{.X}}'],
  ];
  cases.forEach(([opts, want], i) => it(`#${i}`, () => assert.equal(resolveListFormat(opts), want)));

  it('templateText applies Docker preFormat', () => {
    assert.equal(templateText('table {{.ID}}\\t{{.Name}}'), '{{.ID}}\t{{.Name}}');
    assert.equal(templateText('json'), '{{json .}}');
    assert.equal(templateText('  {{.A}}\\n '), '{{.A}}\n');
    assert.equal(templateText('\t{{.A}}'), '\t{{.A}}');
  });
});

describe('formatInspect', () => {
  it('prints one line per element', () => {
    assert.equal(
      formatInspect('{{.ID}} {{.Spec.Name}}', [
        { ID: 'a', Spec: { Name: 'x' } },
        { ID: 'b', Spec: { Name: 'y' } },
      ]),
      'a x\nb y\n',
    );
  });
  it('does not expand \\t', () => assert.equal(formatInspect('{{.ID}}\\t', [{ ID: 'a' }]), 'a\\t\n'));
  it("missingkey=error as in Docker's raw retry", () => {
    assert.throws(
      () => formatInspect('{{.Nope}}', [{ ID: 'a' }], { missingKey: 'error' }),
      (e: unknown) =>
        e instanceof FormatError &&
        e.message ===
          'template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"',
    );
    assert.equal(formatInspect('{{.Nope}}', [{ ID: 'a' }]), '<no value>\n');
  });
});
