// The service label through which a stack asks the manager to honour `depends_on` (shoal's addition,
// `x-shoal: {depends_on: true}` in a stack file): `shoal.stack.depends-on` lists the services this one
// depends on and the condition each must meet before this service's tasks may start, as
// `shop_db:service_healthy,shop_cache:service_started`. Written by the Compose converter, read by the
// scheduler (src/manager/scheduler/depends-on.ts).

export const LABEL_DEPENDS_ON = 'shoal.stack.depends-on';

export const CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;

export type Condition = (typeof CONDITIONS)[number];

export interface Dependency {
  /** The dependency's service name. */
  readonly service: string;
  readonly condition: Condition;
}

export function formatDependsOn(deps: readonly Dependency[]): string {
  return deps.map((d) => `${d.service}:${d.condition}`).join(',');
}

/** The label's dependencies, or undefined when it is malformed. */
export function parseDependsOn(value: string): Dependency[] | undefined {
  if (value === '') return [];
  const out: Dependency[] = [];
  for (const entry of value.split(',')) {
    const colon = entry.lastIndexOf(':');
    if (colon <= 0) return undefined;
    const condition = entry.slice(colon + 1);
    if (!(CONDITIONS as readonly string[]).includes(condition)) return undefined;
    out.push({ service: entry.slice(0, colon), condition: condition as Condition });
  }
  return out;
}
