// `depends_on` honoured, shoal's addition (`x-shoal: {depends_on: true}` in the first file): each service
// that depends on others gets the service label `shoal.stack.depends-on` — its dependencies' service names
// and conditions, `shop_db:service_healthy,shop_cache:service_started` — which the manager reads to hold
// the service's tasks until every dependency meets its condition (src/manager/scheduler/depends-on.ts). The
// short syntax (`depends_on: [db]`) means `service_started`, as in compose-spec. Without the key,
// `depends_on` is ignored, as `docker stack deploy` ignores it.

import { formatDependsOn, LABEL_DEPENDS_ON, type Condition } from '../api/depends-on.js';
import type { ServiceSpec } from '../api/types.js';
import { ownValue } from '../api/own.js';
import { dependsOnEnabledIn, type Config } from './types.js';
import { Namespace } from './convert.js';

/** A dependency by service key. */
export interface Dependency {
  service: string;
  condition: Condition;
}

/** Each service's dependencies (by service key), checked: defined services only, no cycle. */
export function dependencies(config: Config): Map<string, Dependency[]> {
  const names = new Set(config.services.map((s) => s.name));
  const out = new Map<string, Dependency[]>();
  for (const service of config.services) {
    const deps: Dependency[] = [];
    const long = service.dependsOnConditions;
    for (const name of service.dependsOn ?? []) {
      const spec = long ? ownValue(long, name) : undefined;
      if (spec?.restart === true || spec?.restart === 'true') {
        throw new Error(
          `service ${service.name}: depends_on.${name}.restart is not supported: a service is not restarted when its dependency is`,
        );
      }
      if (!names.has(name)) {
        if (spec?.required === false) continue;
        throw new Error(`service ${service.name} depends on undefined service ${name}`);
      }
      if (name === service.name) throw new Error(`service ${service.name} depends on itself`);
      deps.push({ service: name, condition: (spec?.condition ?? 'service_started') as Condition });
    }
    if (deps.length > 0)
      out.set(
        service.name,
        deps.sort((a, b) => (a.service < b.service ? -1 : 1)),
      );
  }
  // A cycle would hold its services' tasks forever.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new Error(`dependency cycle detected: ${cycle.join(' -> ')}`);
    }
    state.set(name, 'visiting');
    for (const dep of out.get(name) ?? []) visit(dep.service, [...path, name]);
    state.set(name, 'done');
  };
  for (const name of [...out.keys()].sort()) visit(name, []);
  return out;
}

/** Labels the converted services when the configuration asks for `depends_on` to be honoured. */
export function applyDependsOn(
  config: Config,
  stack: string,
  services: readonly { key: string; spec: ServiceSpec }[],
): void {
  if (!dependsOnEnabledIn(config)) return;
  const namespace = new Namespace(stack);
  const deps = dependencies(config);
  for (const { key, spec } of services) {
    const list = deps.get(key);
    if (!list) continue;
    const label = formatDependsOn(
      list.map((d) => ({ service: namespace.scope(d.service), condition: d.condition })),
    );
    spec.Labels = { ...(spec.Labels ?? {}), [LABEL_DEPENDS_ON]: label };
  }
}
