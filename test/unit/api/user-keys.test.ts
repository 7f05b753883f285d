// The own-property helpers every user- or peer-keyed map goes through, and the `filters` parameter's
// label matching: a key named after a prototype property is a key like any other.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { expandContainerSpec } from '../../../src/agent/executor/templates.js';
import { Filters } from '../../../src/api/filters.js';
import { assignOwn, hasOwnKey, ownRecord, ownString, ownValue, setOwn } from '../../../src/api/own.js';
import type { Task } from '../../../src/api/types.js';

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
const hostileKey = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string());

describe('own-property helpers', () => {
  it('read nothing from the prototype', () => {
    for (const key of PROTOTYPE_KEYS) {
      assert.equal(hasOwnKey({}, key), false);
      assert.equal(ownValue({}, key), undefined);
      assert.equal(ownString({}, key), undefined);
    }
    assert.equal(hasOwnKey(undefined, 'a'), false);
    assert.equal(ownString({ a: 1 }, 'a'), undefined);
  });

  it('write own entries, __proto__ included, without touching any prototype', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(hostileKey, fc.string())), (entries) => {
        const record = ownRecord(entries);
        const expected = new Map(entries);
        assert.equal(Object.getPrototypeOf(record), Object.prototype);
        assert.deepEqual(new Map(Object.entries(record)), expected);
        for (const [key, value] of expected) {
          assert.equal(ownValue(record, key), value);
          assert.equal(hasOwnKey(record, key), true);
        }
        const target: Record<string, string> = {};
        assignOwn(target, record);
        assert.deepEqual(new Map(Object.entries(target)), expected);
        assert.equal(Object.getPrototypeOf(target), Object.prototype);
      }),
    );
    const record: Record<string, unknown> = {};
    setOwn<unknown>(record, '__proto__', { polluted: true });
    assert.equal(Object.getPrototypeOf(record), Object.prototype);
    assert.equal((record as { polluted?: boolean }).polluted, undefined);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });
});

describe('Filters.matchLabels', () => {
  const filters = (term: string): Filters =>
    Filters.parse(JSON.stringify({ label: { [term]: true } }), ['label']);
  const labels = (entries: [string, string][]): Record<string, string> => ownRecord(entries);

  it('a label named after a prototype property exists only if the object has it', () => {
    for (const key of PROTOTYPE_KEYS) {
      assert.equal(filters(key).matchLabels('label', {}), false, key);
      assert.equal(filters(`${key}=x`).matchLabels('label', {}), false, `${key}=x`);
      assert.equal(filters(key).matchLabels('label', labels([[key, '']])), true, key);
      assert.equal(filters(`${key}=x`).matchLabels('label', labels([[key, 'x']])), true, `${key}=x`);
      assert.equal(filters(`${key}=y`).matchLabels('label', labels([[key, 'x']])), false, `${key}=y`);
    }
  });

  it('the parameter itself may name a prototype property', () => {
    const parsed = Filters.parse('{"label":{"__proto__":true,"constructor=x":true}}', ['label']);
    assert.deepEqual(parsed.values('label').sort(), ['__proto__', 'constructor=x']);
    assert.equal(
      parsed.matchLabels(
        'label',
        labels([
          ['__proto__', ''],
          ['constructor', 'x'],
        ]),
      ),
      true,
    );
    assert.throws(() => Filters.parse('{"__proto__":{"a":true}}', ['label']), {
      message: "Invalid filter '__proto__'",
    });
  });
});

describe('executor templates (Hostname, Env)', () => {
  const task = {
    ID: 'taskid1',
    ServiceID: 'serviceid1',
    Slot: 1,
    NodeID: 'nodeid1',
    ServiceAnnotations: { Name: 'web', Labels: ownRecord([['__proto__', 'p']]) },
  } as unknown as Task;
  const node = { hostname: 'host-a', os: 'linux', architecture: 'x86_64' };

  it('an expression named after a prototype property is no field', () => {
    for (const key of PROTOTYPE_KEYS) {
      assert.throws(
        () => expandContainerSpec({ Hostname: `{{${key}}}` }, task, node),
        /unsupported template/,
      );
    }
  });

  it('index .Service.Labels sees own labels only', () => {
    const spec = expandContainerSpec(
      { Env: ['A={{index .Service.Labels "__proto__"}}', 'B={{index .Service.Labels "toString"}}'] },
      task,
      node,
    );
    assert.deepEqual(spec.Env, ['A=p', 'B=']);
  });
});
