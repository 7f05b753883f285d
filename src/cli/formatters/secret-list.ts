// The rows of `secret ls` and `config ls` (docker/cli secret.secretContext, config.configContext) and their
// `inspect --pretty` pages (secretInspectContext, configInspectContext), rendered from Docker's own
// templates so that labels, empty fields and the config's data come out as Docker prints them.

import { goTimeString } from '../format-helpers.js';
import { humanDuration, prettyPrint } from '../../api/duration.js';
import { ownValue } from '../../api/own.js';
import type { Config, Labels, Secret } from '../../api/types.js';
import { formatList, renderFormat } from '../format/formatter.js';
import { GO_TYPE } from '../format/govalue.js';
import { naturalCompare } from '../format-helpers.js';
import { nanosSince } from './task-list.js';

export const DEFAULT_SECRET_TABLE_FORMAT =
  'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}';
export const DEFAULT_CONFIG_TABLE_FORMAT = 'table {{.ID}}\t{{.Name}}\t{{.CreatedAt}}\t{{.UpdatedAt}}';

const HEADERS = {
  ID: 'ID',
  Name: 'NAME',
  Driver: 'DRIVER',
  CreatedAt: 'CREATED',
  UpdatedAt: 'UPDATED',
  Labels: 'LABELS',
} as const;

export const SECRET_PRETTY_TEMPLATE = `ID:              {{.ID}}
Name:              {{.Name}}
{{- if .Labels }}
Labels:
{{- range $k, $v := .Labels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Driver:            {{.Driver}}
Created at:        {{.CreatedAt}}
Updated at:        {{.UpdatedAt}}`;

export const CONFIG_PRETTY_TEMPLATE = `ID:			{{.ID}}
Name:			{{.Name}}
{{- if .Labels }}
Labels:
{{- range $k, $v := .Labels }}
 - {{ $k }}{{if $v }}={{ $v }}{{ end }}
{{- end }}{{ end }}
Created at:            	{{.CreatedAt}}
Updated at:            	{{.UpdatedAt}}
Data:
{{.Data}}`;

/** `k=v` pairs joined with commas (Go walks the map in random order; shoal sorts it). */
function joinLabels(labels: Labels | undefined): string {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** One row of `secret ls` / `config ls`. */
class ListContext {
  readonly #object: Secret | Config;
  readonly #nowMs: number;

  constructor(object: Secret | Config, nowMs: number) {
    this.#object = object;
    this.#nowMs = nowMs;
  }

  get ID(): string {
    return this.#object.ID;
  }

  get Name(): string {
    return this.#object.Spec.Name ?? '';
  }

  get CreatedAt(): string {
    return `${humanDuration(nanosSince(this.#object.CreatedAt, this.#nowMs))} ago`;
  }

  get UpdatedAt(): string {
    return `${humanDuration(nanosSince(this.#object.UpdatedAt, this.#nowMs))} ago`;
  }

  get Labels(): string {
    return joinLabels(this.#object.Spec.Labels);
  }

  Label(name: string): string {
    return ownValue(this.#object.Spec.Labels, name) ?? '';
  }
}

class SecretContext extends ListContext {
  readonly #secret: Secret;

  constructor(secret: Secret, nowMs: number) {
    super(secret, nowMs);
    this.#secret = secret;
  }

  get Driver(): string {
    return this.#secret.Spec.Driver?.Name ?? '';
  }
}
Object.defineProperty(SecretContext.prototype, GO_TYPE, { value: '*secret.secretContext' });

class ConfigContext extends ListContext {}
Object.defineProperty(ConfigContext.prototype, GO_TYPE, { value: '*config.configContext' });

const byName = <T extends Secret | Config>(objects: readonly T[]): T[] =>
  [...objects].sort((a, b) => naturalCompare(a.Spec.Name ?? '', b.Spec.Name ?? ''));

/** What `secret ls` prints: the secrets sorted by name. */
export function formatSecretList(
  secrets: readonly Secret[],
  format: string,
  quiet: boolean,
  nowMs: number,
): string {
  return formatList(
    byName(secrets).map((s) => new SecretContext(s, nowMs)),
    { format, quiet, defaultTableFormat: DEFAULT_SECRET_TABLE_FORMAT, header: HEADERS },
  );
}

/** What `config ls` prints: the configs sorted by name. */
export function formatConfigList(
  configs: readonly Config[],
  format: string,
  quiet: boolean,
  nowMs: number,
): string {
  return formatList(
    byName(configs).map((c) => new ConfigContext(c, nowMs)),
    { format, quiet, defaultTableFormat: DEFAULT_CONFIG_TABLE_FORMAT, header: HEADERS },
  );
}

/** formatter.PrettyPrint of a time: Go's time String(), first letter up and the rest down. */
const prettyTime = (ts: string | undefined): string =>
  prettyPrint(goTimeString(ts || '0001-01-01T00:00:00Z'));

/** What `--pretty` templates read of a secret (secretInspectContext). */
class SecretInspectContext {
  readonly #secret: Secret;

  constructor(secret: Secret) {
    this.#secret = secret;
  }

  get ID(): string {
    return this.#secret.ID;
  }

  get Name(): string {
    return this.#secret.Spec.Name ?? '';
  }

  get Labels(): Labels {
    return this.#secret.Spec.Labels ?? {};
  }

  get Driver(): string {
    return this.#secret.Spec.Driver?.Name ?? '';
  }

  get CreatedAt(): string {
    return prettyTime(this.#secret.CreatedAt);
  }

  get UpdatedAt(): string {
    return prettyTime(this.#secret.UpdatedAt);
  }
}
Object.defineProperty(SecretInspectContext.prototype, GO_TYPE, { value: '*secret.secretInspectContext' });

/** What `--pretty` templates read of a config (configInspectContext): its data as text. */
class ConfigInspectContext {
  readonly #config: Config;

  constructor(config: Config) {
    this.#config = config;
  }

  get ID(): string {
    return this.#config.ID;
  }

  get Name(): string {
    return this.#config.Spec.Name ?? '';
  }

  get Labels(): Labels {
    return this.#config.Spec.Labels ?? {};
  }

  get CreatedAt(): string {
    return prettyTime(this.#config.CreatedAt);
  }

  get UpdatedAt(): string {
    return prettyTime(this.#config.UpdatedAt);
  }

  get Data(): string {
    return Buffer.from(this.#config.Spec.Data ?? '', 'base64').toString('utf8');
  }
}
Object.defineProperty(ConfigInspectContext.prototype, GO_TYPE, { value: '*config.configInspectContext' });

/** The `secret inspect --pretty` pages (each page, then a newline). */
export function secretPretty(secrets: readonly Secret[]): string {
  return renderFormat(
    SECRET_PRETTY_TEMPLATE,
    secrets.map((s) => new SecretInspectContext(s)),
  );
}

/** The `config inspect --pretty` pages. */
export function configPretty(configs: readonly Config[]): string {
  return renderFormat(
    CONFIG_PRETTY_TEMPLATE,
    configs.map((c) => new ConfigInspectContext(c)),
  );
}
