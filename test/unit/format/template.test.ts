import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DOCKER_HEADER_FUNCS,
  Template,
  TemplateError,
  goTitle,
  parseTemplate,
  renderTemplate,
} from '../../../src/cli/format/template.js';
import { goUnquote } from '../../../src/api/strconv.js';
import { GO_TYPE, goStruct } from '../../../src/cli/format/govalue.js';

// A Docker-style formatter context: a struct whose "fields" are methods (Go: *main.svc).
class Svc {
  readonly [GO_TYPE] = '*main.svc';
  constructor(
    private readonly id: string,
    private readonly name: string,
    private readonly labels: Record<string, string>,
  ) {}
  ID(): string {
    return this.id;
  }
  Name(): string {
    return this.name;
  }
  Labels(): Record<string, string> {
    return this.labels;
  }
  Label(k: string): string {
    return this.labels[k] ?? '';
  }
  Replicas(): string {
    return '1/1';
  }
}

// Data as the Go oracle saw it (JSON decoded with integers as int, the rest float64).
const D: unknown = JSON.parse(
  String.raw`{"Name": "web", "ID": "abc123def456", "Replicas": 3, "Ratio": 0.5, "Empty": "", "Zero": 0, "T": true, "F": false, "Nil": null, "Labels": {"b": "2", "a": "1", "com.docker.stack": "s"}, "Args": ["a", "b", "c"], "Nums": [1, 2, 3], "Mixed": [1, "a", null, true], "Spec": {"Name": "web", "Labels": {}, "Mode": {"Replicated": {"Replicas": 2}}}, "EmptyList": [], "EmptyMap": {}, "Html": "<a&b>", "Uni": "héllo wörld", "Big": 1000000, "Neg": -5}`,
);
const S: unknown = JSON.parse(String.raw`{"__svc": 1, "id": "x1", "name": "svc1", "labels": {"k": "v"}}`);

function conv(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(conv);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>;
    if (o.__svc) return new Svc(o.id as string, o.name as string, o.labels as Record<string, string>);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, conv(x)]));
  }
  return v;
}

function run(
  text: string,
  data: unknown,
  options: ConstructorParameters<typeof Template>[1] = {},
): [string, string] {
  try {
    const r = new Template(text, options).executePartial(data);
    return [r.output, r.error ? r.error.message : ''];
  } catch (e) {
    if (e instanceof TemplateError) return ['', e.message];
    throw e;
  }
}

// [template, data, output, error]: outputs and error texts produced by Go 1.19's text/template
// with Docker's function map over the same data. Prefix MKE:/MKZ: = missingkey=error/zero.
const GO_CASES: [string, unknown, string, string][] = [
  ['{{(1).A}}', D, '', 'template: :1:3: executing "" at <1>: can\'t evaluate field A in type int'],
  ['{{printf "%d" 1 | printf "%s"}}', D, '1', ''],
  ['{{.Name | printf "%s|%s" "x"}}', D, 'x|web', ''],
  ['{{-3 -}}', D, '-3', ''],
  ['{{.Name -}} x', D, 'webx', ''],
  ['{{- .Name}}', D, 'web', ''],
  ['{{.Name}}', D, 'web', ''],
  ['{{.Spec.Name}}', D, 'web', ''],
  ['{{.Spec.Mode.Replicated.Replicas}}', D, '2', ''],
  ['{{.Nope}}', D, '<no value>', ''],
  ['{{.Nope.Deeper}}', D, '<no value>', ''],
  ['{{.Nil}}', D, '<no value>', ''],
  ['{{.Nil.X}}', D, '', 'template: :1:6: executing "" at <.Nil.X>: nil pointer evaluating interface {}.X'],
  [
    '{{.Name.X}}',
    D,
    '',
    'template: :1:7: executing "" at <.Name.X>: can\'t evaluate field X in type interface {}',
  ],
  [
    '{{.Replicas.X}}',
    D,
    '',
    'template: :1:11: executing "" at <.Replicas.X>: can\'t evaluate field X in type interface {}',
  ],
  [
    '{{.Args.X}}',
    D,
    '',
    'template: :1:7: executing "" at <.Args.X>: can\'t evaluate field X in type interface {}',
  ],
  ['{{.Labels}}', D, 'map[a:1 b:2 com.docker.stack:s]', ''],
  ['{{.Args}}', D, '[a b c]', ''],
  ['{{.Mixed}}', D, '[1 a <nil> true]', ''],
  ['{{.Nums}}', D, '[1 2 3]', ''],
  ['{{.Spec}}', D, 'map[Labels:map[] Mode:map[Replicated:map[Replicas:2]] Name:web]', ''],
  ['{{.EmptyMap}}', D, 'map[]', ''],
  ['{{.EmptyList}}', D, '[]', ''],
  ['{{.Ratio}}', D, '0.5', ''],
  ['{{.Big}}', D, '1000000', ''],
  ['{{.Neg}}', D, '-5', ''],
  ['{{.T}} {{.F}}', D, 'true false', ''],
  ['x{{/* c */}}y', D, 'xy', ''],
  ['a  {{- .Name -}}  b', D, 'awebb', ''],
  ['a {{- /* c */ -}} b', D, 'ab', ''],
  ['{{index .Labels "a"}}', D, '1', ''],
  ['{{index .Args 1}}', D, 'b', ''],
  [
    '{{index .Args 5}}',
    D,
    '',
    'template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5',
  ],
  [
    '{{index .Args 3}}',
    D,
    '',
    'template: :1:2: executing "" at <index .Args 3>: error calling index: reflect: slice index out of range',
  ],
  [
    '{{index .Nums -1}}',
    D,
    '',
    'template: :1:2: executing "" at <index .Nums -1>: error calling index: index out of range: -1',
  ],
  ['{{index .Name 0}}', D, '119', ''],
  [
    '{{index .Labels 1}}',
    D,
    '',
    'template: :1:2: executing "" at <index .Labels 1>: error calling index: value has type int; should be string',
  ],
  [
    '{{index .Replicas 1}}',
    D,
    '',
    'template: :1:2: executing "" at <index .Replicas 1>: error calling index: can\'t index item of type int',
  ],
  ['{{index .Mixed 2}}', D, '<no value>', ''],
  ['{{index .Spec "Mode" "Replicated" "Replicas"}}', D, '2', ''],
  ['{{.Name | upper}}', D, 'WEB', ''],
  ['{{.Name | printf "%s-%s" "x"}}', D, 'x-web', ''],
  ['{{upper .Name | lower}}', D, 'web', ''],
  ['{{json .Html}}', D, '"<a&b>"', ''],
  ['{{json .Nope}}', D, 'null', ''],
  ['{{json .Uni}}', D, '"héllo wörld"', ''],
  ['{{if .T}}yes{{else}}no{{end}}', D, 'yes', ''],
  ['{{if .F}}yes{{else if .Name}}name{{else}}no{{end}}', D, 'name', ''],
  [
    '{{if .Empty}}a{{else if .Zero}}b{{else if .EmptyList}}c{{else if .EmptyMap}}d{{else}}e{{end}}',
    D,
    'e',
    '',
  ],
  ['{{if and .T .Name}}{{and .T .Name}}{{end}}', D, 'web', ''],
  ['{{or .Empty .Zero .Name}}', D, 'web', ''],
  ['{{or .Empty .Zero}}', D, '0', ''],
  ['{{and .T .Zero .Name}}', D, '0', ''],
  ['{{not .T}} {{not .Empty}}', D, 'false true', ''],
  ['{{range .Args}}[{{.}}]{{end}}', D, '[a][b][c]', ''],
  ['{{range $i, $v := .Args}}{{$i}}={{$v}},{{end}}', D, '0=a,1=b,2=c,', ''],
  ['{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}', D, 'a=1;b=2;com.docker.stack=s;', ''],
  ['{{range .EmptyList}}x{{else}}empty{{end}}', D, 'empty', ''],
  ['{{range .Nope}}x{{else}}none{{end}}', D, 'none', ''],
  [
    '{{range .Name}}x{{end}}',
    D,
    '',
    'template: :1:8: executing "" at <.Name>: range can\'t iterate over web',
  ],
  ['{{range $v := .Nums}}{{if eq $v 2}}{{continue}}{{end}}{{$v}}{{end}}', D, '13', ''],
  ['{{range .Nums}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}', D, '1', ''],
  ['{{range $i, $e := .Nums}}{{$.Name}}{{$i}}{{end}}', D, 'web0web1web2', ''],
  ['{{with .Spec}}{{.Name}}{{end}}', D, 'web', ''],
  ['{{with .Empty}}x{{else}}y{{end}}', D, 'y', ''],
  ['{{with $x := .Name}}{{$x}}{{.}}{{end}}', D, 'webweb', ''],
  ['{{$x := 1}}{{$x}}{{$x = 2}}{{$x}}', D, '12', ''],
  ['{{$x := .Name}}{{range .Args}}{{$x}}{{end}}', D, 'webwebweb', ''],
  [
    '{{eq .Name "web"}} {{eq .Replicas 3}} {{ne .Name "x"}} {{eq .Name "a" "b" "web"}}',
    D,
    'true true true true',
    '',
  ],
  [
    '{{eq .Name 3}}',
    D,
    '',
    'template: :1:2: executing "" at <eq .Name 3>: error calling eq: incompatible types for comparison',
  ],
  ['{{lt .Replicas 5}} {{le 3 3}} {{gt .Name "a"}} {{ge 1 2}}', D, 'true true true false', ''],
  [
    '{{lt .T .F}}',
    D,
    '',
    'template: :1:2: executing "" at <lt .T .F>: error calling lt: invalid type for comparison',
  ],
  [
    '{{lt .Nope 1}}',
    D,
    '',
    'template: :1:2: executing "" at <lt .Nope 1>: error calling lt: invalid type for comparison',
  ],
  ['{{eq .Nope .Nope2}}', D, 'true', ''],
  ['{{eq .Nope 1}}', D, 'false', ''],
  [
    '{{eq}}',
    D,
    '',
    'template: :1:2: executing "" at <eq>: wrong number of args for eq: want at least 1 got 0',
  ],
  ['{{lt 1}}', D, '', 'template: :1:2: executing "" at <lt>: wrong number of args for lt: want 2 got 1'],
  ['{{len .Args}} {{len .Labels}} {{len .Name}} {{len .Uni}}', D, '3 3 3 13', ''],
  [
    '{{len .Replicas}}',
    D,
    '',
    'template: :1:2: executing "" at <len .Replicas>: error calling len: len of type int',
  ],
  [
    '{{len .Nope}}',
    D,
    '',
    'template: :1:2: executing "" at <len .Nope>: error calling len: reflect: call of reflect.Value.Type on zero Value',
  ],
  [
    '{{len .Nil}}',
    D,
    '',
    'template: :1:2: executing "" at <len .Nil>: error calling len: len of nil pointer',
  ],
  ['{{printf "%s %d %v" .Name .Replicas .Args}}', D, 'web 3 [a b c]', ''],
  ['{{printf "%5.2f|%-6s|%q" .Ratio .Name .Name}}', D, ' 0.50|web   |"web"', ''],
  ['{{printf "%d" .Name}}', D, '%!d(string=web)', ''],
  ['{{printf "%s" .Nope}}', D, '%!s(<nil>)', ''],
  [
    '{{printf}}',
    D,
    '',
    'template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0',
  ],
  ['{{printf 3}}', D, '', 'template: :1:9: executing "" at <3>: expected string; found 3'],
  ['{{print .Name .Replicas 4 "x"}}', D, 'web3 4x', ''],
  ['{{println .Name 1}}', D, 'web 1\n', ''],
  ['{{print .Nope}}', D, '<nil>', ''],
  ['{{print}}', D, '', ''],
  [
    '{{join .Nums ","}}',
    D,
    '',
    'template: :1:7: executing "" at <.Nums>: wrong type for value; expected []string; got []interface {}',
  ],
  ['{{join .Nope ","}}', D, '', ''],
  ['{{split "a,b,c" ","}}', D, '[a b c]', ''],
  ['{{index (split .Name "e") 1}}', D, 'b', ''],
  ['{{title "hello wOrld-foo_bar x.y"}}', D, 'Hello WOrld-Foo_bar X.Y', ''],
  ['{{upper .Uni}}', D, 'HÉLLO WÖRLD', ''],
  ['{{pad .Name 2 3}}|', D, '  web   |', ''],
  ['{{pad .Empty 2 3}}|', D, '|', ''],
  ['{{truncate .ID 6}}', D, 'abc123', ''],
  ['{{truncate .Name 10}}', D, 'web', ''],
  ['{{truncate .Name 3}}', D, 'web', ''],
  ['{{upper 3}}', D, '', 'template: :1:8: executing "" at <3>: expected string; found 3'],
  [
    '{{upper .Replicas}}',
    D,
    '',
    'template: :1:8: executing "" at <.Replicas>: wrong type for value; expected string; got int',
  ],
  ['{{upper .Nope}}', D, '', 'template: :1:8: executing "" at <.Nope>: invalid value; expected string'],
  ['{{truncate .Name "x"}}', D, '', 'template: :1:17: executing "" at <"x">: expected integer; found "x"'],
  ['{{truncate .Name 1.5}}', D, '', 'template: :1:17: executing "" at <1.5>: expected integer; found 1.5'],
  ['{{.Name "x"}}', D, '', 'template: :1:2: executing "" at <.Name>: Name is not a method but has arguments'],
  [
    '{{.Labels.a "x"}}',
    D,
    '',
    'template: :1:9: executing "" at <.Labels.a>: a is not a method but has arguments',
  ],
  ['{{"x" "y"}}', D, '', 'template: :1:2: executing "" at <"x">: can\'t give argument to non-function "x"'],
  ['{{3 | printf "%d"}}', D, '3', ''],
  ['{{.Name | 3}}', D, '', 'template: :1: non executable command in pipeline stage 2'],
  ['{{nil}}', D, '', 'template: :1:2: executing "" at <nil>: nil is not a command'],
  [
    '{{upper}}',
    D,
    '',
    'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0',
  ],
  [
    '{{upper 1 2}}',
    D,
    '',
    'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 2',
  ],
  ['{{nope}}', D, '', 'template: :1: function "nope" not defined'],
  ['{{.Name', D, '', 'template: :1: unclosed action'],
  ['{{if .T}}x', D, '', 'template: :1: unexpected EOF'],
  ['{{end}}', D, '', 'template: :1: unexpected {{end}}'],
  ['{{else}}', D, '', 'template: :1: unexpected {{else}}'],
  ['{{range .X}}{{else if .Y}}{{end}}', D, '', 'template: :1: unexpected <if> in input'],
  ['x {{/* unclosed', D, '', 'template: :1: unclosed comment'],
  ['{{.Name}\n}}', D, '', "template: :1: bad character U+007D '}'"],
  ['{{"unterminated}}', D, '', 'template: :1: unterminated quoted string'],
  ['{{$nope}}', D, '', 'template: :1: undefined variable "$nope"'],
  ['{{break}}', D, '', 'template: :1: {{break}} outside {{range}}'],
  ['{{(.Spec).Name}} {{(index .Spec.Mode "Replicated").Replicas}}', D, 'web 2', ''],
  ["{{1.5}} {{1e3}} {{0x1F}} {{'a'}} {{-3}} {{1_000}}", D, '1.5 1000 31 97 -3 1000', ''],
  ['{{"a\\tb"}}|{{`raw\\n`}}', D, 'a\tb|raw\\n', ''],
  [
    '{{html .Html}} {{js "a\'b<c>"}} {{urlquery "a b&c/d"}}',
    D,
    "&lt;a&amp;b&gt; a\\'b\\u003Cc\\u003E a+b%26c%2Fd",
    '',
  ],
  ['{{slice .Args 1}} {{slice .Name 1 2}}', D, '[b c] e', ''],
  ['{{define "x"}}[{{.}}]{{end}}{{template "x" .Name}}{{template "x" 3}}', D, '[web][3]', ''],
  ['{{block "b" .Name}}<{{.}}>{{end}}', D, '<web>', ''],
  [
    '{{template "nope"}}',
    D,
    '',
    'template: :1:11: executing "" at <{{template "nope"}}>: template "nope" not defined',
  ],
  [
    'line1\n{{.Nope.X}}\n{{.Name.Nope}}',
    D,
    'line1\n<no value>\n',
    'template: :3:7: executing "" at <.Name.Nope>: can\'t evaluate field Nope in type interface {}',
  ],
  ['{{ .Name }}{{- " " -}}{{ .ID }}', D, 'web abc123def456', ''],
  ['{{.Labels.a}}{{.Labels.zz}}', D, '1<no value>', ''],
  ['{{$.Name}}', D, 'web', ''],
  ['{{.Ratio | printf "%.1f"}}', D, '0.5', ''],
  ['{{printf "%v" .Labels}}', D, 'map[a:1 b:2 com.docker.stack:s]', ''],
  ['{{.ID}} {{.Name}} {{.Replicas}}', S, 'x1 svc1 1/1', ''],
  [
    '{{.Nope}}',
    S,
    '',
    'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *main.svc',
  ],
  ['{{.Label "k"}}', S, 'v', ''],
  [
    '{{.Label}}',
    S,
    '',
    'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0',
  ],
  ['{{.ID "x"}}', S, '', 'template: :1:2: executing "" at <.ID>: wrong number of args for ID: want 0 got 1'],
  ['{{.Labels.k}}', S, 'v', ''],
  [
    '{{range .}}x{{end}}',
    S,
    '',
    'template: :1:8: executing "" at <.>: range can\'t iterate over {x1 svc1 map[k:v]}',
  ],
  ['{{json .Labels}}', S, '{"k":"v"}', ''],
  ['{{index .Labels "k"}}', S, 'v', ''],
  ['{{.Name | upper}}', S, 'SVC1', ''],
  ['{{if .ID}}y{{end}}', S, 'y', ''],
  [
    '{{range .}}{{.ID}}{{end}}',
    [
      { __svc: 1, id: 'x1', name: 'svc1', labels: { k: 'v' } },
      { __svc: 1, id: 'x1', name: 'svc1', labels: { k: 'v' } },
    ],
    'x1x1',
    '',
  ],
  ['MKE:{{.Nope}}', D, '', 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'],
  ['MKE:{{.Nope.X}}', D, '', 'template: :1:7: executing "" at <.Nope.X>: map has no entry for key "Nope"'],
  ['MKE:{{.Spec.Name}}', D, 'web', ''],
  [
    'MKE:{{.Labels.zz}}',
    D,
    '',
    'template: :1:9: executing "" at <.Labels.zz>: map has no entry for key "zz"',
  ],
  [
    '{{.Uni | truncate 2}}|{{truncate .Uni 3}}',
    D,
    '',
    'template: :1:18: executing "" at <2>: expected string; found 2',
  ],
  ['{{printf "%x %X %o %c %U" 255 255 8 65 65}}', D, 'ff FF 10 A U+0041', ''],
  ['{{printf "%6.2f|%-8v|%08.3f" 3.14159 .Name -3.14159}}', D, '  3.14|web     |-003.142', ''],
  [
    '{{printf "%s" .Args}} {{printf "%v" .Mixed}} {{printf "%d" .Nums}}',
    D,
    '[a b c] [1 a <nil> true] [1 2 3]',
    '',
  ],
  ['{{print 1 2 "a" 3 nil}}', D, '1 2a3 <nil>', ''],
  ['{{println}}', D, '\n', ''],
  ['{{len .EmptyMap}}{{len .EmptyList}}', D, '00', ''],
  ['{{if eq .Replicas 3 4}}y{{end}}', D, 'y', ''],
  ['{{.Spec.Mode.Replicated}}', D, 'map[Replicas:2]', ''],
  ['{{range $k, $v := .Spec}}{{$k}};{{end}}', D, 'Labels;Mode;Name;', ''],
  ['{{$x := 3}}{{$x = .Name}}{{$x}}', D, 'web', ''],
  ['{{range .Nums}}{{$.Name}}{{end}}', D, 'webwebweb', ''],
  ['{{ .Name }} {{ .Name | printf "%q" }}', D, 'web "web"', ''],
  ['{{-3}}', D, '-3', ''],
  ['{{if}}{{end}}', D, '', 'template: :1: missing value for if'],
  ['{{range $a, $b, $c := .Nums}}{{end}}', D, '', 'template: :1: too many declarations in range'],
  ['{{$x := .Name | upper}}{{$x}}', D, 'WEB', ''],
  ['a\n  {{- .Name}}\n  {{- .ID -}}\n  b', D, 'awebabc123def456b', ''],
  ['{{with .Spec}}{{with .Mode}}{{.Replicated.Replicas}}{{end}}{{end}}', D, '2', ''],
  ['{{.Spec.Mode.Replicated.Replicas | printf "%03d"}}', D, '002', ''],
  ['{{index .Args 1 | upper}}', D, 'B', ''],
  ['{{ index .Labels "com.docker.stack" }}', D, 's', ''],
  ['{{split .Name ""}}', D, '[w e b]', ''],
  ['{{json (split "a,b" ",")}}', D, '["a","b"]', ''],
  ['{{json 1.5}} {{json "\\u0001\\n"}} {{json nil}}', D, '1.5 "\\u0001\\n" null', ''],
  ['{{.}}', 'plain', 'plain', ''],
  ['{{.X}}', 'plain', '', 'template: :1:2: executing "" at <.X>: can\'t evaluate field X in type string'],
  ['{{.}} {{len .}}', [1, 2], '[1 2] 2', ''],
  ['{{.}}', undefined, '<no value>', ''],
  ['{{.X}}', undefined, '<no value>', ''],
];

describe('template: agrees with Go text/template + Docker functions', () => {
  for (const [text, data, out, err] of GO_CASES) {
    it(JSON.stringify(text), () => {
      let t = text;
      let missingKey: 'default' | 'error' | 'zero' = 'default';
      if (t.startsWith('MKE:')) [t, missingKey] = [t.slice(4), 'error'];
      else if (t.startsWith('MKZ:')) [t, missingKey] = [t.slice(4), 'zero'];
      assert.deepEqual(run(t, conv(data), { missingKey }), [out, err]);
    });
  }
});

describe('template: deliberate differences from Go 1.19 (documented)', () => {
  const cases: [string, string, unknown, string, string][] = [
    // Go 1.22+ ranges over integers and 1.23+ has {{else with}}: Docker 28 (built with Go 1.24) does.
    ['range over int', '{{range 3}}{{.}}{{end}}', D, '012', ''],
    ['else with', '{{with .Nope}}a{{else with .Name}}b{{.}}{{end}}', D, 'bweb', ''],
    // index of a missing key of a string-valued map gives "" (Go's zero value for map[string]string).
    ['index missing label', '{{index .Labels "zz"}}', D, '', ''],
    ['index on empty labels', '{{index .Spec.Labels "x"}}', D, '', ''],
    // index of a missing (typed nil) map with a string key gives "" rather than "index of untyped nil".
    ['index of absent map', '{{index .Nope "x"}}', D, '', ''],
    // A JavaScript array of strings is accepted where Go wants []string.
    ['join of string array', '{{join .Args ", "}}', D, 'a, b, c', ''],
    // Plain objects are written in their own key order (as Go writes structs); Maps sorted.
    [
      'json keeps object order',
      '{{json .Spec}}',
      D,
      '{"Name":"web","Labels":{},"Mode":{"Replicated":{"Replicas":2}}}',
      '',
    ],
    [
      'json of Map sorted',
      '{{json .}}',
      new Map([
        ['b', 1],
        ['a', 2],
      ]),
      '{"a":2,"b":1}',
      '',
    ],
    // Type names are guessed from the values.
    ['%T guesses element types', '{{printf "%T %T" .Labels .Args}}', D, 'map[string]string []string', ''],
  ];
  for (const [name, text, data, out, err] of cases) {
    it(name, () => assert.deepEqual(run(text, conv(data)), [out, err]));
  }
});

describe('template: structs, methods and getters', () => {
  class Ctx {
    constructor(private readonly n: number) {}
    get ID(): string {
      return `id${this.n}`;
    }
    Double(x: number): number {
      return x * 2;
    }
    Fails(): string {
      throw new Error('boom');
    }
  }
  const cases: [string, unknown, string, string][] = [
    ['{{.ID}}', new Ctx(1), 'id1', ''],
    ['{{.Double 21}}', new Ctx(1), '42', ''],
    ['{{21 | .Double}}', new Ctx(1), '42', ''],
    [
      '{{.Double}}',
      new Ctx(1),
      '',
      'template: :1:2: executing "" at <.Double>: wrong number of args for Double: want 1 got 0',
    ],
    ['{{.Fails}}', new Ctx(1), '', 'template: :1:2: executing "" at <.Fails>: error calling Fails: boom'],
    [
      '{{.Nope}}',
      new Ctx(1),
      '',
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type Ctx',
    ],
    [
      '{{.ID "x"}}',
      new Ctx(1),
      '',
      'template: :1:2: executing "" at <.ID>: ID has arguments but cannot be invoked as function',
    ],
    [
      '{{.toString}}',
      new Ctx(1),
      '',
      'template: :1:2: executing "" at <.toString>: can\'t evaluate field toString in type Ctx',
    ],
    [
      '{{pad "x" -1 0}}',
      new Ctx(1),
      '',
      'template: :1:2: executing "" at <pad "x" -1 0>: error calling pad: strings: negative Repeat count',
    ],
    [
      '{{.Nope}}',
      goStruct({ A: 1 }, '*formatter.serviceContext'),
      '',
      'template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.serviceContext',
    ],
    ['{{.A}}', goStruct({ A: 1 }, '*formatter.serviceContext'), '1', ''],
    // getters and functions on plain objects work as fields too
    [
      '{{.G}} {{.F}}',
      {
        get G() {
          return 'g';
        },
        F: () => 'f',
      },
      'g f',
      '',
    ],
    ['{{.F 2}}', { F: (x: number) => x + 1 }, '3', ''],
    // Map instances are Go maps
    [
      '{{.a}} {{.zz}} {{range $k, $v := .}}{{$k}}{{$v}}{{end}}',
      new Map([
        ['b', 2],
        ['a', 1],
      ]),
      '1 <no value> a1b2',
      '',
    ],
    // Dates print as Go's time.Time
    ['{{.}}', new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 120)), '2024-01-02 03:04:05.12 +0000 UTC', ''],
    ['{{json .}}', new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), '"2024-01-02T03:04:05.000Z"', ''],
    // Stringer
    ['{{.}}', { __proto__: { String: () => 'str!' } }, 'str!', ''],
    // bigint
    ['{{.}} {{printf "%x" .}}', 2n ** 64n, '18446744073709551616 10000000000000000', ''],
  ];
  for (const [text, data, out, err] of cases) {
    it(`${text} over ${String((data as object)?.constructor?.name)}`, () =>
      assert.deepEqual(run(text, data), [out, err]));
  }
});

describe('template: parse errors', () => {
  const cases: [string, string][] = [
    ['{{.Name', 'template: :1: unclosed action'],
    ['{{', 'template: :1: unclosed action'],
    ['a\n{{if .A}}\nb', 'template: :3: unexpected EOF'],
    ['{{end}}', 'template: :1: unexpected {{end}}'],
    ['{{else}}', 'template: :1: unexpected {{else}}'],
    ['{{nope}}', 'template: :1: function "nope" not defined'],
    ['{{$x}}', 'template: :1: undefined variable "$x"'],
    ['{{break}}', 'template: :1: {{break}} outside {{range}}'],
    ['{{.A | "x"}}', 'template: :1: non executable command in pipeline stage 2'],
    ['{{if}}{{end}}', 'template: :1: missing value for if'],
    ['{{range $a, $b, $c := .}}{{end}}', 'template: :1: too many declarations in range'],
    ['{{"abc}}', 'template: :1: unterminated quoted string'],
    ['{{/* x', 'template: :1: unclosed comment'],
    ['{{.A)}}', 'template: :1: unexpected ")" in command'],
    ['{{(.A}}', 'template: :1: unclosed left paren'],
    ['{{3x}}', 'template: :1: bad number syntax: "3x"'],
    ['{{.A.}}', 'template: :1: unexpected <.> in operand'],
    ['{{"x".A}}', 'template: :1: unexpected . after term "\\"x\\""'],
    ['{{$.A.}}', 'template: :1: unexpected <.> in operand'],
    ['{{range .}}{{end}}x{{continue}}', 'template: :1: {{continue}} outside {{range}}'],
    ['{{with $x := 1}}{{end}}{{$x}}', 'template: :1: undefined variable "$x"'],
    ['{{ - }}', 'template: :1: illegal number syntax: "-"'],
    ['{{"\\q"}}', 'template: :1: invalid syntax'],
    [
      '{{define "a"}}x{{end}}{{define "a"}}y{{end}}',
      'template: :1: template: multiple definition of template "a"',
    ],
    ['{{.A\n}}{{', 'template: :2: unclosed action'],
    ['{{if .A}}{{else}}{{else}}{{end}}', 'template: :1: expected end; found {{else}}'],
  ];
  for (const [text, err] of cases) {
    it(JSON.stringify(text), () => {
      assert.throws(
        () => parseTemplate(text),
        (e: unknown) => e instanceof TemplateError && e.phase === 'parse' && e.message === err,
      );
    });
  }
});

describe('template: execution error positions', () => {
  it('reports line and byte column on later lines', () => {
    assert.deepEqual(run('x\n  héllo {{.A.B}}', { A: 'str' }), [
      'x\n  héllo ',
      'template: :2:13: executing "" at <.A.B>: can\'t evaluate field B in type interface {}',
    ]);
  });
  it('names the template', () => {
    assert.deepEqual(run('{{.A.B}}', { A: 1 }, { name: 'tmpl' }), [
      '',
      'template: tmpl:1:4: executing "tmpl" at <.A.B>: can\'t evaluate field B in type interface {}',
    ]);
  });
  it('throws TemplateError from execute()', () => {
    assert.throws(
      () => new Template('{{.A.B}}').execute({ A: 1 }),
      (e: unknown) => e instanceof TemplateError && e.phase === 'exec',
    );
  });
  it('null data is no value', () => {
    assert.equal(renderTemplate('{{.X}}|{{.}}', null), '<no value>|<no value>');
  });
  it('nil inside a map is an error when dereferenced', () => {
    assert.deepEqual(run('{{.A.B}}', { A: null }), [
      '',
      'template: :1:4: executing "" at <.A.B>: nil pointer evaluating interface {}.B',
    ]);
  });
});

describe('template: Docker header functions', () => {
  const header = { Name: 'NAME', ID: 'ID' };
  const cases: [string, string, string][] = [
    ['{{.Name}}\t{{.ID}}', 'NAME\tID', ''],
    ['{{upper .Name}} {{lower .ID}} {{title .Name}} {{json .Name}}', 'NAME ID NAME NAME', ''],
    ['{{truncate .Name 2}} {{split .Name ","}} {{join .Name ","}}', 'NAME NAME NAME', ''],
    ['{{pad .Name 1 2}}|', ' NAME  |', ''],
    ['{{.Nope}}', '<no value>', ''],
    [
      '{{.Name}}\t{{json .Current}}',
      'NAME\t',
      'template: :1:17: executing "" at <.Current>: invalid value; expected string',
    ],
  ];
  for (const [text, out, err] of cases) {
    it(text, () => {
      const r = new Template(text).executePartial(header, { funcs: DOCKER_HEADER_FUNCS });
      assert.deepEqual([r.output, r.error?.message ?? ''], [out, err]);
    });
  }
});

describe('template: custom functions', () => {
  it('adds plain functions and typed specs', () => {
    const t = new Template('{{twice .N}} {{greet "x"}}', {
      funcs: {
        twice: (n: unknown) => (n as number) * 2,
        greet: { params: ['string'], fn: (...a: unknown[]) => `hi ${String(a[0])}` },
      },
    });
    assert.equal(t.execute({ N: 4 }), '8 hi x');
  });
  it('checks typed parameters', () => {
    const t = new Template('{{greet 3}}', { funcs: { greet: { params: ['string'], fn: () => '' } } });
    assert.throws(() => t.execute({}), /at <3>: expected string; found 3/);
  });
  it('can leave Docker functions out', () => {
    assert.throws(
      () => parseTemplate('{{upper "x"}}', { noDockerFuncs: true }),
      /function "upper" not defined/,
    );
  });
});

describe('template helpers', () => {
  it('goTitle is strings.Title', () => {
    assert.equal(goTitle("hello wOrld-foo_bar x.y o'neil"), "Hello WOrld-Foo_bar X.Y O'Neil");
  });
  it('goUnquote is strconv.Unquote', () => {
    assert.equal(goUnquote('"a\\tb\\u00e9\\x41\\101"'), 'a\tbéAA');
    assert.equal(goUnquote('`raw\\n`'), 'raw\\n');
    assert.equal(goUnquote("'x'"), 'x');
    assert.throws(() => goUnquote('"a'));
  });
});
