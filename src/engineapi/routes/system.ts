// `/_ping`, `/version`, `/info`: what every docker CLI invocation asks first. They are shoal's even when
// the node has an engine behind its socket; `/info` then counts the engine's containers and images (what
// `docker ps -a` and `docker images` list through the same socket), and warns when the engine does not
// answer.

import { nowTimestamp } from '../../api/time.js';
import { goArch } from '../../api/platform.js';
import { hostname } from 'node:os';
import type { EngineBackend, SwarmInfo, SystemInfo } from '../backend.js';
import type { EngineProxy } from '../engine-proxy.js';
import { json, type Reply, type RequestContext } from '../http.js';
import type { Router } from '../router.js';
import { MAX_API_VERSION, MIN_API_VERSION } from '../version.js';

/** The `Swarm` ping header (API 1.42+): lets the CLI hide swarm commands on nodes that can't serve them. */
function swarmHeader(info: SwarmInfo): string {
  switch (info.LocalNodeState) {
    case 'active':
      return info.ControlAvailable ? 'active/manager' : 'active/worker';
    default:
      return info.LocalNodeState;
  }
}

/** How long `/info` waits for the engine's counts. */
const ENGINE_INFO_TIMEOUT_MS = 5_000;

/** The counts `/info` takes from the node's engine. */
const ENGINE_COUNTS = ['Containers', 'ContainersRunning', 'ContainersPaused', 'ContainersStopped', 'Images'];

export function registerSystemRoutes(
  router: Router,
  backend: EngineBackend,
  serverVersion: string,
  engine?: EngineProxy,
): void {
  const ping = async (ctx: RequestContext): Promise<Reply> => {
    const info = await backend.swarmInfo().catch(() => undefined);
    const res = ctx.res;
    res.setHeader('Api-Version', MAX_API_VERSION);
    res.setHeader('Ostype', 'linux');
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
    res.setHeader('Pragma', 'no-cache');
    if (info) res.setHeader('Swarm', swarmHeader(info));
    if (ctx.method === 'HEAD') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '0' });
      res.end();
      return { streamed: true };
    }
    return { status: 200, text: 'OK' };
  };
  router.get('/_ping', ping);
  router.head('/_ping', ping);

  router.get('/version', async () => {
    const sys = await backend.systemInfo();
    const details = {
      ApiVersion: MAX_API_VERSION,
      Arch: goArch(),
      BuildTime: BUILD_TIME,
      Experimental: 'false',
      GitCommit: '',
      GoVersion: process.version,
      KernelVersion: sys.kernelVersion,
      MinAPIVersion: MIN_API_VERSION,
      Os: 'linux',
    };
    return json({
      Platform: { Name: 'shoal' },
      Components: [{ Name: 'Engine', Version: serverVersion, Details: details }],
      Version: serverVersion,
      ApiVersion: MAX_API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: process.version,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: sys.kernelVersion,
      BuildTime: BUILD_TIME,
    });
  });

  router.get('/info', async () => {
    const [sys, swarm, engineInfo] = await Promise.all([
      backend.systemInfo(),
      backend.swarmInfo(),
      engine?.getJson('/info', ENGINE_INFO_TIMEOUT_MS).then(
        (body) => ({ body }),
        (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
      ),
    ]);
    const body = infoBody(sys, swarm);
    if (engineInfo && 'body' in engineInfo && typeof engineInfo.body === 'object' && engineInfo.body) {
      const counts = engineInfo.body as Record<string, unknown>;
      for (const key of ENGINE_COUNTS) {
        if (typeof counts[key] === 'number') body[key] = counts[key];
      }
    } else if (engineInfo && 'error' in engineInfo) {
      body.Warnings = [`WARNING: ${engineInfo.error}`];
    }
    return json(body);
  });
}

const BUILD_TIME = new Date().toISOString();

function infoBody(sys: SystemInfo, swarm: SwarmInfo): Record<string, unknown> {
  return {
    ID: '',
    Containers: sys.containers.total,
    ContainersRunning: sys.containers.running,
    ContainersPaused: sys.containers.paused,
    ContainersStopped: sys.containers.stopped,
    Images: 0,
    Driver: sys.driver,
    DriverStatus: [],
    Plugins: { ...sys.plugins, Authorization: null },
    MemoryLimit: true,
    SwapLimit: false,
    KernelMemory: false,
    KernelMemoryTCP: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: false,
    PidsLimit: true,
    IPv4Forwarding: true,
    BridgeNfIptables: false,
    BridgeNfIp6tables: false,
    Debug: sys.debug,
    NFd: 0,
    OomKillDisable: false,
    NGoroutines: 0,
    SystemTime: nowTimestamp(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: '',
    NEventsListener: 0,
    KernelVersion: sys.kernelVersion,
    OperatingSystem: sys.operatingSystem,
    OSVersion: sys.osVersion,
    OSType: 'linux',
    Architecture: sys.architecture,
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: null,
    NCPU: sys.ncpu,
    MemTotal: sys.memTotal,
    GenericResources: null,
    DockerRootDir: sys.dataRoot,
    HttpProxy: '',
    HttpsProxy: '',
    NoProxy: '',
    Name: sys.name || hostname(),
    Labels: sys.labels,
    ExperimentalBuild: false,
    ServerVersion: sys.serverVersion,
    Runtimes: { shoal: { path: 'shoal-runner' } },
    DefaultRuntime: 'shoal',
    Swarm: swarm,
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: '', Expected: '' },
    InitCommit: { ID: '', Expected: '' },
    SecurityOptions: [],
    Warnings: null,
  };
}
