import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { isShoalError } from '../../../src/api/errors.js';
import {
  bool,
  decodeAs,
  decodeBody,
  float64,
  iface,
  map,
  readBodyAs,
  str,
  struct,
  type Schema,
} from '../../../src/engineapi/decode.js';
import {
  ConfigSpecSchema,
  InitRequestSchema,
  JoinRequestSchema,
  NetworkCreateRequestSchema,
  NodeSpecSchema,
  SecretSpecSchema,
  ServiceSpecSchema,
  SwarmSpecSchema,
  UnlockRequestSchema,
} from '../../../src/engineapi/schemas.js';

/** Asserts that decoding fails as dockerd does: InvalidArgument (400) with exactly `message`. */
function fails(body: string, schema: Schema, message: string, mode?: 'decoder' | 'unmarshal'): void {
  assert.throws(
    () => decodeBody(body, schema, { mode }),
    (err: unknown) => {
      assert.ok(isShoalError(err), `not a ShoalError: ${String(err)}`);
      assert.equal(err.message, message);
      assert.equal(err.code, 'InvalidArgument');
      assert.equal(err.status, 400);
      assert.equal(err.apiMessage(), message);
      return true;
    },
  );
}

const decode = <T>(body: string, schema: Schema<T>): T => decodeBody(body, schema);

const CREATE =
  '{"Name":"x","TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest","Args":["sleep","3600"]}}';

describe('decodeBody: messages dockerd 20.10 gave (docker-observed.md)', () => {
  it('B.1 swarm init: syntax, EOF and top-level type errors', () => {
    fails('{"ListenAddr":"0.0.0.0:2377"', InitRequestSchema, 'unexpected EOF');
    fails('garbage', InitRequestSchema, "invalid character 'g' looking for beginning of value");
    fails('', InitRequestSchema, 'got EOF while reading request body');
    fails(' \n\t ', InitRequestSchema, 'got EOF while reading request body');
    fails('[]', InitRequestSchema, 'json: cannot unmarshal array into Go value of type swarm.InitRequest');
    fails('"x"', InitRequestSchema, 'json: cannot unmarshal string into Go value of type swarm.InitRequest');
    fails('5', InitRequestSchema, 'json: cannot unmarshal number into Go value of type swarm.InitRequest');
    fails('true', InitRequestSchema, 'json: cannot unmarshal bool into Go value of type swarm.InitRequest');
  });

  it('B.1 swarm init: null is the zero request; data after the first value is ignored', () => {
    assert.deepEqual(decode('null', InitRequestSchema), {});
    const want = { ListenAddr: '127.0.0.1:2377', AdvertiseAddr: '127.0.0.1' };
    assert.deepEqual(
      decode('{"ListenAddr":"127.0.0.1:2377","AdvertiseAddr":"127.0.0.1"} garbage', InitRequestSchema),
      want,
    );
    assert.deepEqual(
      decode('{"ListenAddr":"127.0.0.1:2377","AdvertiseAddr":"127.0.0.1"}{"x":1}', InitRequestSchema),
      want,
    );
    assert.deepEqual(
      decode('{"ListenAddr":"127.0.0.1:2377","AdvertiseAddr":"127.0.0.1"}{', InitRequestSchema),
      want,
    );
  });

  it('B.1 swarm init: wrong field types', () => {
    fails(
      '{"ListenAddr":5}',
      InitRequestSchema,
      'json: cannot unmarshal number into Go struct field InitRequest.ListenAddr of type string',
    );
    fails(
      '{"ListenAddr":"127.0.0.1:2377","AdvertiseAddr":"127.0.0.1","Spec":{"Orchestration":{"TaskHistoryRetentionLimit":"5"}}}',
      InitRequestSchema,
      'json: cannot unmarshal string into Go struct field OrchestrationConfig.Spec.Orchestration.TaskHistoryRetentionLimit of type int64',
    );
  });

  it('B.1/B.3 swarm init: accepted bodies', () => {
    assert.deepEqual(
      decode(
        '{"ListenAddr":"127.0.0.1:2377","AdvertiseAddr":"127.0.0.1","Spec":{"Orchestration":{"TaskHistoryRetentionLimit":-1}}}',
        InitRequestSchema,
      ),
      {
        ListenAddr: '127.0.0.1:2377',
        AdvertiseAddr: '127.0.0.1',
        Spec: { Orchestration: { TaskHistoryRetentionLimit: -1 } },
      },
    );
    assert.deepEqual(decode('{"Bogus":1,"ListenAddr":"0.0.0.0:2377"}', InitRequestSchema), {
      ListenAddr: '0.0.0.0:2377',
    });
    assert.deepEqual(
      decode(
        '{"ListenAddr":"127.0.0.1:2377","DataPathPort":70000,"SubnetSize":33,"DefaultAddrPool":["bogus"],"Availability":"bogus","Datastore":"etcd"}',
        InitRequestSchema,
      ),
      {
        ListenAddr: '127.0.0.1:2377',
        DataPathPort: 70000,
        SubnetSize: 33,
        DefaultAddrPool: ['bogus'],
        Availability: 'bogus',
        Datastore: 'etcd',
      },
    );
    assert.deepEqual(
      decode(
        '{"Spec":{"Dispatcher":{"HeartbeatPeriod":-1000000000},"CAConfig":{"NodeCertExpiry":-1}}}',
        InitRequestSchema,
      ),
      { Spec: { Dispatcher: { HeartbeatPeriod: -1000000000 }, CAConfig: { NodeCertExpiry: -1 } } },
    );
  });

  it('C swarm update: unknown fields are dropped, {} is the zero spec', () => {
    const spec =
      '{"Name":"default","Labels":{},"Orchestration":{"TaskHistoryRetentionLimit":5},"Raft":{"SnapshotInterval":10000,"KeepOldSnapshots":0,"LogEntriesForSlowFollowers":500,"ElectionTick":10,"HeartbeatTick":1},"Dispatcher":{"HeartbeatPeriod":5000000000},"CAConfig":{"NodeCertExpiry":7776000000000000},"TaskDefaults":{},"EncryptionConfig":{"AutoLockManagers":false}}';
    assert.deepEqual(decode(spec, SwarmSpecSchema), JSON.parse(spec));
    assert.deepEqual(decode(spec.slice(0, -1) + ',"Bogus":1}', SwarmSpecSchema), JSON.parse(spec));
    assert.deepEqual(decode('{}', SwarmSpecSchema), {});
    fails('', SwarmSpecSchema, 'got EOF while reading request body');
  });

  it('D.1 node update: unknown fields, empty body, {} and odd label keys', () => {
    assert.deepEqual(
      decode('{"Labels":{},"Role":"manager","Availability":"active","Bogus":1}', NodeSpecSchema),
      {
        Labels: {},
        Role: 'manager',
        Availability: 'active',
      },
    );
    fails('', NodeSpecSchema, 'got EOF while reading request body');
    assert.deepEqual(decode('{}', NodeSpecSchema), {});
    assert.deepEqual(
      decode('{"Role":"manager","Availability":"active","Labels":{"":"x","a b":"c","k":""}}', NodeSpecSchema),
      {
        Role: 'manager',
        Availability: 'active',
        Labels: { '': 'x', 'a b': 'c', k: '' },
      },
    );
  });

  it('E.3 services create: decode errors', () => {
    fails(
      CREATE + ',"Mode":{"Replicated":{"Replicas":-1}}}',
      ServiceSpecSchema,
      'json: cannot unmarshal number -1 into Go struct field ReplicatedService.Mode.Replicated.Replicas of type uint64',
    );
    fails(
      CREATE + ',"Mode":{"ReplicatedJob":{"MaxConcurrent":-1,"TotalCompletions":1}}}',
      ServiceSpecSchema,
      'json: cannot unmarshal number -1 into Go struct field ReplicatedJob.Mode.ReplicatedJob.MaxConcurrent of type uint64',
    );
    fails(
      '{"Name":5,"TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest","Args":["sleep","3600"]}}}',
      ServiceSpecSchema,
      'json: cannot unmarshal number into Go struct field ServiceSpec.Name of type string',
    );
    fails(
      CREATE + ',"UpdateConfig":{"Parallelism":-1}}',
      ServiceSpecSchema,
      'json: cannot unmarshal number -1 into Go struct field UpdateConfig.UpdateConfig.Parallelism of type uint64',
    );
    fails('{"Name":', ServiceSpecSchema, 'unexpected EOF');
    fails('', ServiceSpecSchema, 'got EOF while reading request body');
  });

  it('E.3 services create: accepted bodies keep what dockerd keeps', () => {
    const base = {
      Name: 'x',
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '3600'] } },
    };
    assert.deepEqual(decode(CREATE + ',"Mode":{"Replicated":{"Replicas":0}}}', ServiceSpecSchema), {
      ...base,
      Mode: { Replicated: { Replicas: 0 } },
    });
    assert.deepEqual(decode(CREATE + ',"Mode":{}}', ServiceSpecSchema), { ...base, Mode: {} });
    assert.deepEqual(decode(CREATE + ',"Mode":{"Replicated":{}}}', ServiceSpecSchema), {
      ...base,
      Mode: { Replicated: {} },
    });
    assert.deepEqual(
      decode(CREATE + ',"Mode":{"GlobalJob":{}},"RollbackConfig":{"Parallelism":1}}', ServiceSpecSchema),
      {
        ...base,
        Mode: { GlobalJob: {} },
        RollbackConfig: { Parallelism: 1 },
      },
    );
    assert.deepEqual(
      decode(
        '{"Name":"unk","Bogus":1,"TaskTemplate":{"ContainerSpec":{"Image":"busybox:latest","Args":["sleep","3600"],"Bogus":1}}}',
        ServiceSpecSchema,
      ),
      {
        Name: 'unk',
        TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '3600'] } },
      },
    );
    assert.deepEqual(decode('{}', ServiceSpecSchema), {});
    assert.deepEqual(decode('{"Name":"nocs","TaskTemplate":{}}', ServiceSpecSchema), {
      Name: 'nocs',
      TaskTemplate: {},
    });
    assert.deepEqual(
      decode(
        CREATE +
          ',"EndpointSpec":{"Ports":[{"TargetPort":80,"PublishedPort":70000,"Protocol":"bogus"}]},"Labels":{"":"x"}}',
        ServiceSpecSchema,
      ),
      {
        ...base,
        EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 70000, Protocol: 'bogus' }] },
        Labels: { '': 'x' },
      },
    );
  });

  it('D.3 filters (json.Unmarshal into map[string]map[string]bool)', () => {
    const filters = map(map(bool()));
    fails('notjson', filters, "invalid character 'o' in literal null (expecting 'u')", 'unmarshal');
    fails(
      '{"role":"manager"}',
      filters,
      'json: cannot unmarshal string into Go value of type map[string]bool',
      'unmarshal',
    );
    assert.deepEqual(decodeBody('{"role":{"manager":true}}', filters, { mode: 'unmarshal' }), {
      role: { manager: true },
    });
  });
});

describe('decodeBody: keys', () => {
  it('match case-insensitively at every depth, canonicalised to the Go field name', () => {
    assert.deepEqual(
      decode(
        '{"listenaddr":"a","SPEC":{"orchestration":{"taskHistoryRetentionLimit":3}}}',
        InitRequestSchema,
      ),
      {
        ListenAddr: 'a',
        Spec: { Orchestration: { TaskHistoryRetentionLimit: 3 } },
      },
    );
    const body =
      '{"name":"w","tasktemplate":{"containerSpec":{"IMAGE":"i","HealthCheck":{"test":["NONE"],"startinterval":1},"dnsconfig":{"NAMESERVERS":["1.1.1.1"]},"secrets":[{"secretname":"s","FILE":{"mode":292}}]}},"endpointspec":{"ports":[{"targetport":80}]},"mode":{"replicatedjob":{"maxconcurrent":2}}}';
    assert.deepEqual(decode(body, ServiceSpecSchema), {
      Name: 'w',
      TaskTemplate: {
        ContainerSpec: {
          Image: 'i',
          Healthcheck: { Test: ['NONE'], StartInterval: 1 },
          DNSConfig: { Nameservers: ['1.1.1.1'] },
          Secrets: [{ SecretName: 's', File: { Mode: 292 } }],
        },
      },
      EndpointSpec: { Ports: [{ TargetPort: 80 }] },
      Mode: { ReplicatedJob: { MaxConcurrent: 2 } },
    });
    // The docker CLI sends `Healthcheck`, the swagger says `HealthCheck`: both land on `Healthcheck`.
    assert.deepEqual(
      decode('{"TaskTemplate":{"ContainerSpec":{"Healthcheck":{"Retries":3}}}}', ServiceSpecSchema),
      {
        TaskTemplate: { ContainerSpec: { Healthcheck: { Retries: 3 } } },
      },
    );
  });

  it('fold ſ to s and the Kelvin sign to k, and nothing else', () => {
    assert.deepEqual(
      decode(
        '{"Ta\u017fkTemplate":{"Resources":{"Reservations":{"GenericResources":[{"DiscreteResourceSpec":{"\u212aind":"gpu"}}]}}}}',
        ServiceSpecSchema,
      ),
      {
        TaskTemplate: {
          Resources: { Reservations: { GenericResources: [{ DiscreteResourceSpec: { Kind: 'gpu' } }] } },
        },
      },
    );
    assert.deepEqual(
      decode(
        '{"Listen_Addr":"a","ListenAddr ":"b","Lísten\u0041ddr":"c","L\u0130stenAddr":"d"}',
        InitRequestSchema,
      ),
      {},
    );
  });

  it('a field given twice (in any case) takes the last value; structs merge', () => {
    assert.deepEqual(decode('{"ListenAddr":"a","listenaddr":"b","LISTENADDR":"c"}', InitRequestSchema), {
      ListenAddr: 'c',
    });
    assert.deepEqual(
      decode('{"Spec":{"Raft":{"ElectionTick":3}},"spec":{"Raft":{"HeartbeatTick":1}}}', InitRequestSchema),
      {
        Spec: { Raft: { ElectionTick: 3, HeartbeatTick: 1 } },
      },
    );
    assert.deepEqual(decode('{"Labels":{"a":"1"},"Labels":{"b":"2"}}', ServiceSpecSchema), {
      Labels: { a: '1', b: '2' },
    });
    assert.deepEqual(decode('{"UpdateConfig":{"Parallelism":2},"UpdateConfig":null}', ServiceSpecSchema), {});
  });

  it('map keys are data: not folded, kept verbatim, __proto__ included', () => {
    const spec = decode('{"Labels":{"A":"1","a":"2","__proto__":"p","constructor":"c"}}', ServiceSpecSchema);
    assert.deepEqual(Object.keys(spec.Labels ?? {}), ['A', 'a', '__proto__', 'constructor']);
    assert.equal(Object.getPrototypeOf(spec.Labels), Object.prototype);
    assert.equal(spec.Labels?.['__proto__'], 'p');
  });

  it('unknown fields are dropped whatever they hold, at every depth', () => {
    assert.deepEqual(
      decode(
        '{"Bogus":{"Name":5,"x":[1,{"y":null}]},"TaskTemplate":{"Bogus":[],"ContainerSpec":{"Image":"i","Bogus":"x","Mounts":[{"Type":"bind","Bogus":true}]}},"Mode":{"Bogus":1}}',
        ServiceSpecSchema,
      ),
      { TaskTemplate: { ContainerSpec: { Image: 'i', Mounts: [{ Type: 'bind' }] } }, Mode: {} },
    );
    // PluginSpec's Go names are lower-case; the swagger's `PluginPrivilege` is not one of them.
    assert.deepEqual(
      decode(
        '{"TaskTemplate":{"PluginSpec":{"Name":"p","Remote":"r","PluginPrivilege":[],"Privileges":[{"Name":"n","Value":["v"]}]}}}',
        ServiceSpecSchema,
      ),
      {
        TaskTemplate: { PluginSpec: { name: 'p', remote: 'r', privileges: [{ name: 'n', value: ['v'] }] } },
      },
    );
  });
});

describe('decodeBody: null', () => {
  it('into pointers, maps and slices it means absent; into other types it changes nothing', () => {
    assert.deepEqual(
      decode(
        '{"Name":null,"Labels":null,"TaskTemplate":null,"Mode":null,"UpdateConfig":null,"Networks":null,"EndpointSpec":null}',
        ServiceSpecSchema,
      ),
      {},
    );
    assert.deepEqual(decode('{"Name":"a","Name":null}', ServiceSpecSchema), { Name: 'a' });
    assert.deepEqual(decode('{"TaskTemplate":{"ForceUpdate":1},"TaskTemplate":null}', ServiceSpecSchema), {
      TaskTemplate: { ForceUpdate: 1 },
    });
    assert.deepEqual(
      decode(
        '{"TaskTemplate":{"ContainerSpec":{"Init":true}},"TaskTemplate":{"ContainerSpec":{"Init":null}}}',
        ServiceSpecSchema,
      ),
      {
        TaskTemplate: { ContainerSpec: {} },
      },
    );
    assert.deepEqual(decode('{"TaskTemplate":{"ContainerSpec":{"Init":false}}}', ServiceSpecSchema), {
      TaskTemplate: { ContainerSpec: { Init: false } },
    });
  });

  it('as a map value or slice element it is the zero value of the element type', () => {
    assert.deepEqual(
      decode(
        '{"Labels":{"a":null},"TaskTemplate":{"ContainerSpec":{"Args":["a",null],"Mounts":[null],"Secrets":[null],"Ulimits":[null]}}}',
        ServiceSpecSchema,
      ),
      {
        Labels: { a: '' },
        TaskTemplate: { ContainerSpec: { Args: ['a', ''], Mounts: [{}], Secrets: [null], Ulimits: [null] } },
      },
    );
  });

  it('the network create body of the CLI: nulls dropped, the rest kept', () => {
    const body =
      '{"Driver":"overlay","Scope":"","IPAM":null,"Internal":false,"Attachable":true,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"Options":null,"Labels":{"com.docker.stack.namespace":"demo"},"Name":"demo_appnet","CheckDuplicate":true}';
    const want = JSON.parse(body) as Record<string, unknown>;
    delete want.IPAM;
    delete want.ConfigFrom;
    delete want.Options;
    assert.deepEqual(decode(body, NetworkCreateRequestSchema), want);
  });
});

describe('decodeBody: numbers', () => {
  const replicas = (n: string): string => `{"Mode":{"Replicated":{"Replicas":${n}}}}`;
  const replicasError = (n: string): string =>
    `json: cannot unmarshal number ${n} into Go struct field ReplicatedService.Mode.Replicated.Replicas of type uint64`;

  it('uint64 refuses negatives, fractions, exponents and -0, and is exact or refused', () => {
    for (const n of ['-1', '1.5', '1.0', '1e2', '1E2', '-0', '18446744073709551616', '0.0']) {
      fails(replicas(n), ServiceSpecSchema, replicasError(n));
    }
    assert.deepEqual(decode(replicas('0'), ServiceSpecSchema), { Mode: { Replicated: { Replicas: 0 } } });
    assert.deepEqual(decode(replicas('9007199254740991'), ServiceSpecSchema), {
      Mode: { Replicated: { Replicas: 9007199254740991 } },
    });
    // A JS number cannot hold these exactly: refused, never stored rounded (…993 would read back …992).
    for (const n of ['9007199254740992', '9007199254740993', '18446744073709551615']) {
      fails(replicas(n), ServiceSpecSchema, replicasError(n));
    }
  });

  it('every integer that decodes reads back exactly as written', () => {
    const maxAttempts = (n: string): string => `{"TaskTemplate":{"RestartPolicy":{"MaxAttempts":${n}}}}`;
    for (const n of ['0', '1', '4294967296', '999999999999999', '1000000000000000', '9007199254740991']) {
      const decoded = decode(maxAttempts(n), ServiceSpecSchema) as {
        TaskTemplate: { RestartPolicy: { MaxAttempts: number } };
      };
      assert.equal(String(decoded.TaskTemplate.RestartPolicy.MaxAttempts), n);
    }
    fails(
      maxAttempts('9007199254740993'),
      ServiceSpecSchema,
      'json: cannot unmarshal number 9007199254740993 into Go struct field RestartPolicy.TaskTemplate.RestartPolicy.MaxAttempts of type uint64',
    );
  });

  it('int64 and time.Duration: range and literal checks', () => {
    const expiry = (n: string): string => `{"CAConfig":{"NodeCertExpiry":${n}}}`;
    assert.deepEqual(decode(expiry('-9007199254740991'), SwarmSpecSchema), {
      CAConfig: { NodeCertExpiry: -9007199254740991 },
    });
    assert.deepEqual(decode(expiry('-0'), SwarmSpecSchema), { CAConfig: { NodeCertExpiry: 0 } });
    for (const n of ['9223372036854775808', '-9223372036854775808', '-9007199254740992', '1.5', '5e9']) {
      fails(
        expiry(n),
        SwarmSpecSchema,
        `json: cannot unmarshal number ${n} into Go struct field CAConfig.CAConfig.NodeCertExpiry of type time.Duration`,
      );
    }
    fails(
      '{"CAConfig":{"NodeCertExpiry":"90d"}}',
      SwarmSpecSchema,
      'json: cannot unmarshal string into Go struct field CAConfig.CAConfig.NodeCertExpiry of type time.Duration',
    );
    fails(
      '{"Raft":{"ElectionTick":true}}',
      SwarmSpecSchema,
      'json: cannot unmarshal bool into Go struct field RaftConfig.Raft.ElectionTick of type int',
    );
  });

  it('uint32 and named uint32 types', () => {
    assert.deepEqual(decode('{"DataPathPort":4294967295}', InitRequestSchema), { DataPathPort: 4294967295 });
    fails(
      '{"DataPathPort":4294967296}',
      InitRequestSchema,
      'json: cannot unmarshal number 4294967296 into Go struct field InitRequest.DataPathPort of type uint32',
    );
    fails(
      '{"TaskTemplate":{"ContainerSpec":{"Mounts":[{"TmpfsOptions":{"Mode":-1}}]}}}',
      ServiceSpecSchema,
      'json: cannot unmarshal number -1 into Go struct field TmpfsOptions.TaskTemplate.ContainerSpec.Mounts.TmpfsOptions.Mode of type fs.FileMode',
    );
  });

  it('float32 takes fractions and refuses what overflows it', () => {
    assert.deepEqual(decode('{"UpdateConfig":{"MaxFailureRatio":0.25}}', ServiceSpecSchema), {
      UpdateConfig: { MaxFailureRatio: 0.25 },
    });
    assert.deepEqual(decode('{"UpdateConfig":{"MaxFailureRatio":2e-50}}', ServiceSpecSchema), {
      UpdateConfig: { MaxFailureRatio: 2e-50 },
    });
    fails(
      '{"UpdateConfig":{"MaxFailureRatio":1e39}}',
      ServiceSpecSchema,
      'json: cannot unmarshal number 1e39 into Go struct field UpdateConfig.UpdateConfig.MaxFailureRatio of type float32',
    );
    fails(
      '{"UpdateConfig":{"MaxFailureRatio":"0.5"}}',
      ServiceSpecSchema,
      'json: cannot unmarshal string into Go struct field UpdateConfig.UpdateConfig.MaxFailureRatio of type float32',
    );
  });

  it('a number into a string or bool field is `number` without its text', () => {
    fails(
      '{"ForceNewCluster":1}',
      InitRequestSchema,
      'json: cannot unmarshal number into Go struct field InitRequest.ForceNewCluster of type bool',
    );
    fails(
      '{"UnlockKey":1.5}',
      UnlockRequestSchema,
      'json: cannot unmarshal number into Go struct field UnlockRequest.UnlockKey of type string',
    );
  });
});

describe('decodeBody: error context and Go type names', () => {
  it('fields promoted from embedded structs are reported under the outer struct', () => {
    fails(
      '{"Labels":{"a":1}}',
      ServiceSpecSchema,
      'json: cannot unmarshal number into Go struct field ServiceSpec.Labels of type string',
    );
    fails(
      '{"Labels":[]}',
      ServiceSpecSchema,
      'json: cannot unmarshal array into Go struct field ServiceSpec.Labels of type map[string]string',
    );
    fails(
      '{"Name":true}',
      NodeSpecSchema,
      'json: cannot unmarshal bool into Go struct field NodeSpec.Name of type string',
    );
    fails(
      '{"Labels":{"a":{}}}',
      SecretSpecSchema,
      'json: cannot unmarshal object into Go struct field SecretSpec.Labels of type string',
    );
    fails(
      '{"Name":1}',
      ConfigSpecSchema,
      'json: cannot unmarshal number into Go struct field ConfigSpec.Name of type string',
    );
    fails(
      '{"Spec":{"Name":5}}',
      InitRequestSchema,
      'json: cannot unmarshal number into Go struct field Spec.Spec.Name of type string',
    );
    fails(
      '{"Name":1}',
      SwarmSpecSchema,
      'json: cannot unmarshal number into Go struct field Spec.Name of type string',
    );
    fails(
      '{"Driver":5}',
      NetworkCreateRequestSchema,
      'json: cannot unmarshal number into Go struct field NetworkCreateRequest.Driver of type string',
    );
    fails(
      '{"Name":5}',
      NetworkCreateRequestSchema,
      'json: cannot unmarshal number into Go struct field NetworkCreateRequest.Name of type string',
    );
  });

  it('names the innermost struct and the JSON path from the root; maps and slices add nothing', () => {
    const cases: [string, string][] = [
      ['{"Mode":"replicated"}', 'string into Go struct field ServiceSpec.Mode of type swarm.ServiceMode'],
      [
        '{"Mode":{"Global":[]}}',
        'array into Go struct field ServiceMode.Mode.Global of type swarm.GlobalService',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Mounts":"x"}}}',
        'string into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.Mounts of type []mount.Mount',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Mounts":[{"Type":1}]}}}',
        'number into Go struct field Mount.TaskTemplate.ContainerSpec.Mounts.Type of type mount.Type',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Secrets":{}}}}',
        'object into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.Secrets of type []*swarm.SecretReference',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Secrets":["s"]}}}',
        'string into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.Secrets of type swarm.SecretReference',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Secrets":[{"File":{"Mode":"0444"}}]}}}',
        'string into Go struct field SecretReferenceFileTarget.TaskTemplate.ContainerSpec.Secrets.File.Mode of type fs.FileMode',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Ulimits":[{"Soft":"x"}]}}}',
        'string into Go struct field Ulimit.TaskTemplate.ContainerSpec.Ulimits.Soft of type int64',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Init":"yes"}}}',
        'string into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.Init of type bool',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"StopGracePeriod":"10s"}}}',
        'string into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.StopGracePeriod of type time.Duration',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Isolation":1}}}',
        'number into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.Isolation of type container.Isolation',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Args":[1]}}}',
        'number into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.Args of type string',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Sysctls":{"a":[]}}}}',
        'array into Go struct field ContainerSpec.TaskTemplate.ContainerSpec.Sysctls of type string',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Privileges":{"Seccomp":{"Mode":1}}}}}',
        'number into Go struct field SeccompOpts.TaskTemplate.ContainerSpec.Privileges.Seccomp.Mode of type swarm.SeccompMode',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Mounts":[{"TmpfsOptions":{"Options":[["a",1]]}}]}}}',
        'number into Go struct field TmpfsOptions.TaskTemplate.ContainerSpec.Mounts.TmpfsOptions.Options of type string',
      ],
      [
        '{"TaskTemplate":{"ContainerSpec":{"Mounts":[{"TmpfsOptions":{"Options":"x"}}]}}}',
        'string into Go struct field TmpfsOptions.TaskTemplate.ContainerSpec.Mounts.TmpfsOptions.Options of type [][]string',
      ],
      [
        '{"TaskTemplate":{"Resources":{"Limits":{"Pids":"1"}}}}',
        'string into Go struct field Limit.TaskTemplate.Resources.Limits.Pids of type int64',
      ],
      [
        '{"TaskTemplate":{"Placement":{"Preferences":[{"Spread":"x"}]}}}',
        'string into Go struct field PlacementPreference.TaskTemplate.Placement.Preferences.Spread of type swarm.SpreadOver',
      ],
      [
        '{"TaskTemplate":{"Placement":{"MaxReplicas":-2}}}',
        'number -2 into Go struct field Placement.TaskTemplate.Placement.MaxReplicas of type uint64',
      ],
      [
        '{"TaskTemplate":{"RestartPolicy":{"Condition":1}}}',
        'number into Go struct field RestartPolicy.TaskTemplate.RestartPolicy.Condition of type swarm.RestartPolicyCondition',
      ],
      [
        '{"TaskTemplate":{"Networks":[{"Aliases":"a"}]}}',
        'string into Go struct field NetworkAttachmentConfig.TaskTemplate.Networks.Aliases of type []string',
      ],
      [
        '{"TaskTemplate":{"PluginSpec":{"privileges":"x"}}}',
        'string into Go struct field PluginSpec.TaskTemplate.PluginSpec.privileges of type []*runtime.PluginPrivilege',
      ],
      [
        '{"TaskTemplate":{"ForceUpdate":-1}}',
        'number -1 into Go struct field TaskSpec.TaskTemplate.ForceUpdate of type uint64',
      ],
      [
        '{"TaskTemplate":{"Runtime":1}}',
        'number into Go struct field TaskSpec.TaskTemplate.Runtime of type swarm.RuntimeType',
      ],
      [
        '{"EndpointSpec":{"Mode":1}}',
        'number into Go struct field EndpointSpec.EndpointSpec.Mode of type swarm.ResolutionMode',
      ],
      [
        '{"EndpointSpec":{"Ports":[{"TargetPort":-80}]}}',
        'number -80 into Go struct field PortConfig.EndpointSpec.Ports.TargetPort of type uint32',
      ],
      [
        '{"EndpointSpec":{"Ports":[{"PublishMode":1}]}}',
        'number into Go struct field PortConfig.EndpointSpec.Ports.PublishMode of type swarm.PortConfigPublishMode',
      ],
      [
        '{"Networks":[{"DriverOpts":{"a":1}}]}',
        'number into Go struct field NetworkAttachmentConfig.Networks.DriverOpts of type string',
      ],
    ];
    for (const [body, tail] of cases) fails(body, ServiceSpecSchema, `json: cannot unmarshal ${tail}`);

    fails(
      '{"Availability":1}',
      NodeSpecSchema,
      'json: cannot unmarshal number into Go struct field NodeSpec.Availability of type swarm.NodeAvailability',
    );
    fails(
      '{"RemoteAddrs":"a"}',
      JoinRequestSchema,
      'json: cannot unmarshal string into Go struct field JoinRequest.RemoteAddrs of type []string',
    );
    fails(
      '{"CAConfig":{"ExternalCAs":[{"Protocol":1}]}}',
      SwarmSpecSchema,
      'json: cannot unmarshal number into Go struct field ExternalCA.CAConfig.ExternalCAs.Protocol of type swarm.ExternalCAProtocol',
    );
    fails(
      '{"TaskDefaults":{"LogDriver":"json-file"}}',
      SwarmSpecSchema,
      'json: cannot unmarshal string into Go struct field TaskDefaults.TaskDefaults.LogDriver of type swarm.Driver',
    );
    fails(
      '{"Raft":{"KeepOldSnapshots":-1}}',
      SwarmSpecSchema,
      'json: cannot unmarshal number -1 into Go struct field RaftConfig.Raft.KeepOldSnapshots of type uint64',
    );
    fails(
      '{"IPAM":{"Config":[{"AuxiliaryAddresses":{"a":true}}]}}',
      NetworkCreateRequestSchema,
      'json: cannot unmarshal bool into Go struct field IPAMConfig.IPAM.Config.AuxiliaryAddresses of type string',
    );
    fails(
      '{"ConfigFrom":"x"}',
      NetworkCreateRequestSchema,
      'json: cannot unmarshal string into Go struct field NetworkCreateRequest.ConfigFrom of type network.ConfigReference',
    );
    fails(
      '[1]',
      NetworkCreateRequestSchema,
      'json: cannot unmarshal array into Go value of type types.NetworkCreateRequest',
    );
  });

  it('reports the first error in the body', () => {
    fails(
      '{"ListenAddr":5,"AdvertiseAddr":6}',
      InitRequestSchema,
      'json: cannot unmarshal number into Go struct field InitRequest.ListenAddr of type string',
    );
    fails(
      '{"Spec":{"Raft":{"ElectionTick":"x"}},"ListenAddr":5}',
      InitRequestSchema,
      'json: cannot unmarshal string into Go struct field RaftConfig.Spec.Raft.ElectionTick of type int',
    );
    // Syntax is checked before any type: a later syntax error wins over an earlier type error.
    fails('{"ListenAddr":5,', InitRequestSchema, 'unexpected EOF');
    fails('{"ListenAddr":5 x}', InitRequestSchema, "invalid character 'x' after object key:value pair");
  });
});

describe('decodeBody: []byte', () => {
  it('takes base64, as Go does', () => {
    assert.deepEqual(decode('{"Name":"mysecret","Labels":{},"Data":"czNjcjN0"}', SecretSpecSchema), {
      Name: 'mysecret',
      Labels: {},
      Data: 'czNjcjN0',
    });
    assert.deepEqual(decode('{"Data":"YQ==\\r\\n"}', ConfigSpecSchema), { Data: 'YQ==' });
    assert.deepEqual(decode('{"Data":"YW\\nJj"}', ConfigSpecSchema), { Data: 'YWJj' });
    assert.deepEqual(decode('{"Data":""}', ConfigSpecSchema), { Data: '' });
    assert.deepEqual(decode('{"Data":[104,105]}', ConfigSpecSchema), { Data: 'aGk=' });
  });

  it('fails with base64 errors, without field context', () => {
    const cases: [string, number][] = [
      ['YQ', 0],
      ['abc', 0],
      ['YWJj!', 4],
      ['YW=j', 2],
      ['Y===', 1],
      ['YQ==YQ==', 4],
      ['YQ=', 3],
      ['s3cr3t', 4],
      ['czNjcjN0?', 8],
    ];
    for (const [data, offset] of cases) {
      fails(`{"Data":"${data}"}`, SecretSpecSchema, `illegal base64 data at input byte ${offset}`);
    }
    fails(
      '{"Data":5}',
      SecretSpecSchema,
      'json: cannot unmarshal number into Go struct field SecretSpec.Data of type []uint8',
    );
    fails(
      '{"Data":[256]}',
      SecretSpecSchema,
      'json: cannot unmarshal number 256 into Go struct field SecretSpec.Data of type uint8',
    );
  });
});

describe('decodeBody: syntax errors as Go scanner reports them', () => {
  const cases: [string, string][] = [
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
    ['{"a":01}', "invalid character '1' after object key:value pair"],
    ['{,}', "invalid character ',' looking for beginning of object key string"],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['[1 2]', "invalid character '2' after array element"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a":nul}', "invalid character '}' in literal null (expecting 'l')"],
    ['{"a":fals}', "invalid character '}' in literal false (expecting 'e')"],
    ['{"a":-}', "invalid character '}' in numeric literal"],
    ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"a":1e}', "invalid character '}' in exponent of numeric literal"],
    ['{"a":+1}', "invalid character '+' looking for beginning of value"],
    ['{"a":.5}', "invalid character '.' looking for beginning of value"],
    ['{"a":"\\x"}', "invalid character 'x' in string escape code"],
    ['{"a":"\\\'"}', "invalid character '\\'' in string escape code"],
    ['{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
    ['{"a":"\n"}', "invalid character '\\n' in string literal"],
    ['{"a":"\t"}', "invalid character '\\t' in string literal"],
    ['{"a":"\u0001"}', "invalid character '\\x01' in string literal"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['{"a":\\}', "invalid character '\\\\' looking for beginning of value"],
    ['\u00e9', "invalid character 'Ã' looking for beginning of value"],
    ['\ufeff{}', "invalid character 'ï' looking for beginning of value"],
    ['\u007f', "invalid character '\\x7f' looking for beginning of value"],
    ['{"a":[1,2', 'unexpected EOF'],
    ['{"a":"b', 'unexpected EOF'],
    ['{"a":"\\u12', 'unexpected EOF'],
    ['-', 'unexpected EOF'],
    ['{', 'unexpected EOF'],
  ];
  for (const [body, message] of cases) {
    it(`${JSON.stringify(body)} → ${message}`, () => fails(body, InitRequestSchema, message));
  }

  it('json.Unmarshal mode: trailing data and truncation', () => {
    fails('{} x', InitRequestSchema, "invalid character 'x' after top-level value", 'unmarshal');
    fails('', InitRequestSchema, 'unexpected end of JSON input', 'unmarshal');
    fails('{"a":[1', InitRequestSchema, 'unexpected end of JSON input', 'unmarshal');
    fails(
      '{"a":1.',
      InitRequestSchema,
      "invalid character ' ' after decimal point in numeric literal",
      'unmarshal',
    );
    fails('{"a":tr', InitRequestSchema, "invalid character ' ' in literal true (expecting 'u')", 'unmarshal');
    assert.deepEqual(decodeBody('  {}  ', InitRequestSchema, { mode: 'unmarshal' }), {});
  });

  it('nesting is limited to 10000 levels', () => {
    const nested = (depth: number): string => `{"Bogus":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    assert.deepEqual(decode(nested(10000), InitRequestSchema), {});
    fails(nested(10001), InitRequestSchema, "invalid character '[' exceeded max depth");
  });
});

describe('decodeBody: strings', () => {
  it('unescapes as Go does, lone surrogates becoming U+FFFD', () => {
    assert.deepEqual(decode('{"ListenAddr":"\\u0041\\n\\/\\"\\\\\\ud83d\\ude00é"}', InitRequestSchema), {
      ListenAddr: 'A\n/"\\😀é',
    });
    assert.deepEqual(decode('{"ListenAddr":"\\ud800x\\udc00\\ud800\\u0041"}', InitRequestSchema), {
      ListenAddr: '\ufffdx\ufffd\ufffdA',
    });
    assert.deepEqual(decode('{"List\\u0065nAddr":"k"}', InitRequestSchema), { ListenAddr: 'k' });
  });
});

describe('decodeBody: round trips', () => {
  it('the `docker service create` body of the trace comes back unchanged', () => {
    const body = JSON.stringify({
      Name: 'web',
      Labels: { x: 'y' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'busybox:local',
          Args: ['httpd', '-f', '-p', '80'],
          Env: ['A=1'],
          Init: false,
          Mounts: [{ Type: 'tmpfs', Target: '/tmp' }],
          Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5000000000 },
          DNSConfig: {},
          Secrets: [
            {
              File: { Name: 'mysecret', UID: '0', GID: '0', Mode: 292 },
              SecretID: 'fmgyijuvs8ihg0fzs59s8u12k',
              SecretName: 'mysecret',
            },
          ],
          Configs: [
            {
              File: { Name: 'myconfig', UID: '0', GID: '0', Mode: 292 },
              ConfigID: 'xh3tkm047i2ti14tfovf1589f',
              ConfigName: 'myconfig',
            },
          ],
        },
        Resources: { Limits: { MemoryBytes: 67108864 }, Reservations: { NanoCPUs: 100000000 } },
        RestartPolicy: { Condition: 'on-failure', Delay: 5000000000, MaxAttempts: 0 },
        Placement: { Constraints: ['node.role==manager'] },
        Networks: [{ Target: 'boe8wx5kbjka1z4a5llf8mt1r' }],
        ForceUpdate: 0,
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: {
        Parallelism: 2,
        Delay: 1000000000,
        FailureAction: 'rollback',
        Monitor: 5000000000,
        MaxFailureRatio: 0,
        Order: 'stop-first',
      },
      RollbackConfig: {
        Parallelism: 1,
        FailureAction: 'pause',
        Monitor: 5000000000,
        MaxFailureRatio: 0,
        Order: 'stop-first',
      },
      EndpointSpec: {
        Mode: 'vip',
        Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
      },
    });
    const decoded = decode(body, ServiceSpecSchema);
    assert.deepEqual(decoded, JSON.parse(body));
    assert.equal(JSON.stringify(decoded), body);
    assert.deepEqual(decodeAs(JSON.parse(body), ServiceSpecSchema), JSON.parse(body));
  });

  it('every field of the latest API survives', () => {
    const spec = {
      Name: 'all',
      Labels: { a: 'b' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'img',
          Labels: { l: 'v' },
          Command: ['sh'],
          Args: ['-c', 'true'],
          Hostname: 'h',
          Env: ['A=1'],
          Dir: '/w',
          User: 'u',
          Groups: ['g'],
          Privileges: {
            CredentialSpec: { Config: 'c', File: 'f', Registry: 'r' },
            SELinuxContext: { Disable: false, User: 'u', Role: 'r', Type: 't', Level: 'l' },
            Seccomp: { Mode: 'custom', Profile: 'e30=' },
            AppArmor: { Mode: 'default' },
            NoNewPrivileges: true,
          },
          Init: true,
          StopSignal: 'SIGTERM',
          TTY: true,
          OpenStdin: true,
          ReadOnly: true,
          Mounts: [
            {
              Type: 'bind',
              Source: '/s',
              Target: '/t',
              ReadOnly: true,
              Consistency: 'cached',
              BindOptions: {
                Propagation: 'rslave',
                NonRecursive: true,
                CreateMountpoint: true,
                ReadOnlyNonRecursive: true,
                ReadOnlyForceRecursive: false,
              },
            },
            {
              Type: 'volume',
              Source: 'v',
              Target: '/v',
              VolumeOptions: {
                NoCopy: true,
                Labels: { a: 'b' },
                Subpath: 'sub',
                DriverConfig: { Name: 'local', Options: { o: 'p' } },
              },
            },
            {
              Type: 'tmpfs',
              Target: '/tmp',
              TmpfsOptions: { SizeBytes: 1024, Mode: 493, Options: [['noexec'], ['uid', '0']] },
            },
            { Type: 'image', Source: 'img', Target: '/i', ImageOptions: { Subpath: 'x' } },
            { Type: 'cluster', Source: 'cv', Target: '/c', ClusterOptions: {} },
          ],
          StopGracePeriod: 10000000000,
          Healthcheck: {
            Test: ['CMD', 'true'],
            Interval: 1000000000,
            Timeout: 2000000000,
            StartPeriod: 3000000000,
            StartInterval: 4000000000,
            Retries: 3,
          },
          Hosts: ['1.2.3.4 h'],
          DNSConfig: { Nameservers: ['8.8.8.8'], Search: ['example.org'], Options: ['ndots:2'] },
          Secrets: [{ File: { Name: 's', UID: '0', GID: '0', Mode: 292 }, SecretID: 'sid', SecretName: 's' }],
          Configs: [
            { File: { Name: 'c', UID: '0', GID: '0', Mode: 292 }, ConfigID: 'cid', ConfigName: 'c' },
            { Runtime: {}, ConfigID: 'cid2', ConfigName: 'c2' },
          ],
          Isolation: 'default',
          Sysctls: { 'net.core.somaxconn': '1024' },
          CapabilityAdd: ['CAP_NET_ADMIN'],
          CapabilityDrop: ['CAP_MKNOD'],
          Ulimits: [{ Name: 'nofile', Soft: 1024, Hard: 2048 }],
          OomScoreAdj: -500,
        },
        Resources: {
          Limits: { NanoCPUs: 1000000000, MemoryBytes: 67108864, Pids: 100 },
          Reservations: {
            NanoCPUs: 500000000,
            MemoryBytes: 33554432,
            GenericResources: [
              { DiscreteResourceSpec: { Kind: 'SSD', Value: 3 } },
              { NamedResourceSpec: { Kind: 'GPU', Value: 'UUID1' } },
            ],
          },
          SwapBytes: -1,
          MemorySwappiness: 60,
        },
        RestartPolicy: { Condition: 'any', Delay: 5000000000, MaxAttempts: 3, Window: 60000000000 },
        Placement: {
          Constraints: ['node.role==worker'],
          Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.az' } }],
          MaxReplicas: 2,
          Platforms: [{ Architecture: 'amd64', OS: 'linux' }],
        },
        ForceUpdate: 7,
        Runtime: 'container',
        Networks: [{ Target: 'net', Aliases: ['a'], DriverOpts: { k: 'v' } }],
        LogDriver: { Name: 'json-file', Options: { 'max-size': '10m' } },
      },
      Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 10 } },
      UpdateConfig: {
        Parallelism: 1,
        Delay: 1,
        FailureAction: 'pause',
        Monitor: 2,
        MaxFailureRatio: 0.5,
        Order: 'start-first',
      },
      RollbackConfig: { Parallelism: 0, Order: 'stop-first' },
      Networks: [{ Target: 'legacy' }],
      EndpointSpec: {
        Mode: 'dnsrr',
        Ports: [{ Name: 'http', Protocol: 'udp', TargetPort: 53, PublishedPort: 5353, PublishMode: 'host' }],
      },
    };
    assert.deepEqual(decode(JSON.stringify(spec), ServiceSpecSchema), spec);

    const plugin = {
      TaskTemplate: {
        Runtime: 'plugin',
        PluginSpec: {
          name: 'p',
          remote: 'r',
          disabled: true,
          env: ['A=1'],
          privileges: [{ name: 'n', description: 'd', value: ['v'] }],
        },
      },
    };
    assert.deepEqual(decode(JSON.stringify(plugin), ServiceSpecSchema), plugin);
    const attachment = {
      TaskTemplate: { Runtime: 'attachment', NetworkAttachmentSpec: { ContainerID: 'c' } },
    };
    assert.deepEqual(decode(JSON.stringify(attachment), ServiceSpecSchema), attachment);
    const global = { Mode: { Global: {} } };
    assert.deepEqual(decode(JSON.stringify(global), ServiceSpecSchema), global);
  });

  it('swarm, node, secret, config, join, unlock and network bodies', () => {
    const swarm = {
      Name: 'default',
      Labels: { a: 'b' },
      Orchestration: { TaskHistoryRetentionLimit: 5 },
      Raft: {
        SnapshotInterval: 10000,
        KeepOldSnapshots: 0,
        LogEntriesForSlowFollowers: 500,
        ElectionTick: 10,
        HeartbeatTick: 1,
      },
      Dispatcher: { HeartbeatPeriod: 5000000000 },
      CAConfig: {
        NodeCertExpiry: 7776000000000000,
        ExternalCAs: [{ Protocol: 'cfssl', URL: 'https://ca', Options: { a: 'b' }, CACert: 'pem' }],
        SigningCACert: 'cert',
        SigningCAKey: 'key',
        ForceRotate: 1,
      },
      TaskDefaults: { LogDriver: { Name: 'json-file', Options: { 'max-file': '3' } } },
      EncryptionConfig: { AutoLockManagers: true },
    };
    assert.deepEqual(decode(JSON.stringify(swarm), SwarmSpecSchema), swarm);
    const init = {
      ListenAddr: '0.0.0.0:2377',
      AdvertiseAddr: '10.0.0.1',
      DataPathAddr: '10.0.0.1',
      DataPathPort: 4789,
      ForceNewCluster: false,
      Spec: swarm,
      AutoLockManagers: false,
      Availability: 'active',
      DefaultAddrPool: ['10.10.0.0/16'],
      SubnetSize: 24,
      Datastore: 'embedded',
    };
    assert.deepEqual(decode(JSON.stringify(init), InitRequestSchema), init);
    const join = {
      ListenAddr: '0.0.0.0:2377',
      AdvertiseAddr: 'eth0',
      DataPathAddr: '',
      RemoteAddrs: ['10.0.0.1:2377'],
      JoinToken: 'SWMTKN-1-x',
      Availability: 'drain',
    };
    assert.deepEqual(decode(JSON.stringify(join), JoinRequestSchema), join);
    assert.deepEqual(decode('{"UnlockKey":"SWMKEY-1-x"}', UnlockRequestSchema), { UnlockKey: 'SWMKEY-1-x' });
    const node = { Name: 'n', Labels: { a: 'b' }, Role: 'worker', Availability: 'pause' };
    assert.deepEqual(decode(JSON.stringify(node), NodeSpecSchema), node);
    const secret = {
      Name: 's',
      Labels: {},
      Data: 'czNjcjN0',
      Driver: { Name: 'd', Options: {} },
      Templating: { Name: 'golang' },
    };
    assert.deepEqual(decode(JSON.stringify(secret), SecretSpecSchema), secret);
    const config = {
      Name: 'c',
      Labels: { a: 'b' },
      Data: 'aGk=',
      Templating: { Name: 'golang', Options: { o: 'p' } },
    };
    assert.deepEqual(decode(JSON.stringify(config), ConfigSpecSchema), config);
    const network = {
      Driver: 'overlay',
      Scope: 'swarm',
      IPAM: {
        Driver: 'default',
        Options: { o: 'p' },
        Config: [
          {
            Subnet: '10.1.0.0/24',
            IPRange: '10.1.0.0/25',
            Gateway: '10.1.0.1',
            AuxiliaryAddresses: { h: '10.1.0.2' },
          },
        ],
      },
      Internal: false,
      Attachable: true,
      Ingress: false,
      ConfigOnly: false,
      ConfigFrom: { Network: 'cfg' },
      Options: { encrypted: '' },
      Labels: {},
      Name: 'mynet',
      CheckDuplicate: true,
      EnableIPv6: true,
      EnableIPv4: true,
    };
    assert.deepEqual(decode(JSON.stringify(network), NetworkCreateRequestSchema), network);
  });
});

describe('decodeAs and readBodyAs', () => {
  it('decodeAs canonicalises parsed values (JSON.parse output)', () => {
    assert.deepEqual(decodeAs(JSON.parse('{"listenaddr":"a","bogus":1,"spec":null}'), InitRequestSchema), {
      ListenAddr: 'a',
    });
    assert.deepEqual(decodeAs(null, InitRequestSchema), {});
    assert.deepEqual(decodeAs(undefined, InitRequestSchema), {});
    assert.deepEqual(decodeAs({ ListenAddr: undefined, AdvertiseAddr: 'b' }, InitRequestSchema), {
      AdvertiseAddr: 'b',
    });
    assert.throws(
      () => decodeAs({ Mode: { Replicated: { Replicas: -1 } } }, ServiceSpecSchema),
      /^ShoalError: json: cannot unmarshal number -1 into Go struct field ReplicatedService\.Mode\.Replicated\.Replicas of type uint64$/,
    );
    assert.throws(
      () => decodeAs({ Mode: { Replicated: { Replicas: 1.5 } } }, ServiceSpecSchema),
      /number 1\.5 into/,
    );
    const parsed = JSON.parse('{"Labels":{"__proto__":"x"}}') as unknown;
    const spec = decodeAs(parsed, ServiceSpecSchema);
    assert.equal(Object.getPrototypeOf(spec.Labels), Object.prototype);
    assert.deepEqual(Object.keys(spec.Labels ?? {}), ['__proto__']);
  });

  it('interface{} fields pass JSON through as Go would hold it', () => {
    const free = struct<{ Opts?: unknown; N?: number }>('x.Free', { Opts: iface(), N: float64() });
    assert.deepEqual(decode('{"opts":{"a":[1,2.5e0,{"b":null}],"c":"d","a":true},"n":1e2}', free), {
      Opts: { a: true, c: 'd' },
      N: 100,
    });
    assert.deepEqual(decode('{"Opts":[1,{"x":[{"y":-0.5}]}]}', free), { Opts: [1, { x: [{ y: -0.5 }] }] });
    assert.deepEqual(decode('{"Opts":1,"Opts":null}', free), {});
    fails(
      '{"Opts":[1e400]}',
      free,
      'json: cannot unmarshal number 1e400 into Go struct field Free.Opts of type float64',
    );
    fails(
      '{"N":1e400}',
      free,
      'json: cannot unmarshal number 1e400 into Go struct field Free.N of type float64',
    );
    const deep = `{"Opts":${'['.repeat(9999)}${']'.repeat(9999)}}`;
    assert.ok(Array.isArray(decode(deep, free).Opts));
    assert.deepEqual(decode('{"Opts":"s"}', struct<{ Opts?: unknown }>('x.S', { Opts: iface() })), {
      Opts: 's',
    });
    assert.deepEqual(decodeAs('plain', str()), 'plain');
  });

  it('readBodyAs reads the request body', async () => {
    const req = Readable.from([
      Buffer.from('{"UnlockKey":'),
      Buffer.from('"SWMKEY-1-abc"}'),
    ]) as unknown as IncomingMessage;
    assert.deepEqual(await readBodyAs({ req }, UnlockRequestSchema), { UnlockKey: 'SWMKEY-1-abc' });
    const empty = Readable.from([]) as unknown as IncomingMessage;
    await assert.rejects(
      readBodyAs({ req: empty }, UnlockRequestSchema),
      /got EOF while reading request body/,
    );
  });
});
