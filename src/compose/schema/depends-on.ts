// shoal's `x-shoal: {depends_on: true}`: a service's `depends_on` may then use compose-spec's long syntax
// (`db: {condition: service_healthy}`) as well as the 3.x list of names. The definition is compose-spec's
// (`depends_on` in compose-spec.json), with the conditions the manager honours.

import type { SchemaVariant } from './validate.js';

const LONG_DEPENDS_ON = {
  oneOf: [
    { type: 'array', items: { type: 'string' }, uniqueItems: true },
    {
      type: 'object',
      additionalProperties: false,
      patternProperties: {
        '^[a-zA-Z0-9._-]+$': {
          type: 'object',
          additionalProperties: false,
          patternProperties: { '^x-': {} },
          properties: {
            restart: { type: ['boolean', 'string'] },
            required: { type: 'boolean' },
            condition: {
              type: 'string',
              enum: ['service_started', 'service_healthy', 'service_completed_successfully'],
            },
          },
          required: ['condition'],
        },
      },
    },
  ],
};

export const withLongDependsOn: SchemaVariant = {
  key: 'long-depends-on',
  apply: (schema) => {
    const definitions = schema['definitions'] as Record<string, Record<string, Record<string, unknown>>>;
    definitions['service']!['properties']!['depends_on'] = structuredClone(LONG_DEPENDS_ON);
  },
};
