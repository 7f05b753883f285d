// Making sure the harness leaves nothing behind: claim files that say who owns which network index and
// data dirs, teardown of everything a network or a daemon made, hooks that run it on exit and on
// SIGINT/SIGTERM/SIGHUP, and a sweep that removes what a crashed (SIGKILLed) run left.
//
// Ownership lives in /run/shoal-test-harness (tmpfs: it goes away on reboot, as namespaces do):
//   net-<index>.json          network <index> (198.18.0.0/15's <index>th /24) belongs to a live process
//   local-<pid>-<n>.json      data dirs of loopback daemons of a process
//   <claim>.sweep-<pid>-<t>   a claim being swept by that process
//   uts/shoaltest-<i>-<k>     bind mounts keeping each host's UTS namespace (its hostname) alive
// A claim records its owner's pid *and start time*, so a reused pid never keeps a dead run's leftovers
// alive. The sweep touches only names with our prefix whose owner is gone, never anything else.
//
// Everything is synchronous: the same teardown runs from `process.on('exit')`.

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { Names, scopeOf } from '../../src/agent/network/plan.js';
import { taskFilesDir } from '../../src/agent/executor/docker/host-files.js';
import {
  executorScope,
  pidsInCgroupTree,
  pidsInScope,
  removeCgroupTree,
  removeScope,
  scopeCgroupDirs,
} from './cgroups.js';
import { runSync } from './commands.js';
import {
  describeProcess,
  isProcessAlive,
  killUntilGone,
  namespaceInode,
  pidsInNetworkNamespace,
  pidsUsingDir,
  selfIdentity,
  type ProcessIdentity,
} from './procs.js';

export const STATE_DIR = '/run/shoal-test-harness';
export const UTS_DIR = join(STATE_DIR, 'uts');
export const NETNS_DIR = '/run/netns';
/** Every namespace the harness makes is named `shoaltest-<index>` (the switch) or `shoaltest-<index>-<k>`. */
export const NETNS_PREFIX = 'shoaltest-';
const MARKER = 'shoal-test-harness';
/** An unreadable claim younger than this is one being written right now, not a leftover. */
const CLAIM_WRITE_GRACE_MS = 30_000;

/** A data dir some daemon used, and the folder to delete with it (none when the caller owns it). */
export interface TrackedDir {
  dataDir: string;
  removeDir?: string;
  /**
   * A test dockerd's `--cgroup-parent` (test/harness/dockerd.ts): its containers' processes, which
   * belong to no namespace of ours and name no dir of ours, are killed through it, and its cgroups go.
   */
  cgroupParent?: string;
  /**
   * A test Podman's storage root (test/harness/podman.ts): its containers' processes live in
   * `/libpod_parent/libpod-<id>` cgroups, the IDs being the folders of `<root>/overlay-containers`.
   */
  podmanRoot?: string;
}

interface Claim {
  marker: typeof MARKER;
  owner: ProcessIdentity;
  created: string;
  dataDirs: TrackedDir[];
}

/** SHOAL_HARNESS_KEEP=1 keeps data dirs and logs after the run, for a post-mortem. */
export const keepFiles = (): boolean => process.env.SHOAL_HARNESS_KEEP === '1';

let self: ProcessIdentity | undefined;
function owner(): ProcessIdentity {
  self ??= selfIdentity();
  return self;
}

function ensureStateDir(): void {
  mkdirSync(UTS_DIR, { recursive: true, mode: 0o700 });
}

function newClaim(): Claim {
  return { marker: MARKER, owner: owner(), created: new Date().toISOString(), dataDirs: [] };
}

function readClaim(path: string): Claim | undefined {
  try {
    const claim = JSON.parse(readFileSync(path, 'utf8')) as Partial<Claim>;
    if (claim.marker !== MARKER || !claim.owner) return undefined;
    return { ...newClaim(), ...claim } as Claim;
  } catch {
    return undefined;
  }
}

/** Creates the claim file only if it does not exist yet (O_EXCL): the atomic step of taking an index. */
function tryCreateClaim(path: string, claim: Claim): boolean {
  ensureStateDir();
  try {
    writeFileSync(path, JSON.stringify(claim), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function rewriteClaim(path: string, claim: Claim): void {
  // Not named after the claim, so a leftover can never make an index look taken (see networkIndexInUse).
  const temporary = join(STATE_DIR, `tmp-${process.pid}-${basename(path)}`);
  writeFileSync(temporary, JSON.stringify(claim), { mode: 0o600 });
  renameSync(temporary, path);
}

export const networkClaimPath = (index: number): string => join(STATE_DIR, `net-${index}.json`);

/** Names of the namespaces a network index uses: the switch and its hosts. */
export const switchNamespace = (index: number): string => `${NETNS_PREFIX}${index}`;
export const hostNamespace = (index: number, hostIndex: number): string =>
  `${NETNS_PREFIX}${index}-${hostIndex}`;
export const utsFile = (namespace: string): string => join(UTS_DIR, namespace);

const NAMESPACE_PATTERN = /^shoaltest-(\d+)(?:-(\d+))?$/;

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Our namespaces of one network index (or all of them), from /run/netns. */
export function harnessNamespaces(index?: number): { name: string; index: number }[] {
  const found: { name: string; index: number }[] = [];
  for (const name of readdirSafe(NETNS_DIR)) {
    const match = NAMESPACE_PATTERN.exec(name);
    if (match && (index === undefined || Number(match[1]) === index))
      found.push({ name, index: Number(match[1]) });
  }
  return found;
}

function harnessUtsFiles(index: number): string[] {
  return readdirSafe(UTS_DIR)
    .filter((name) => NAMESPACE_PATTERN.exec(name)?.[1] === String(index))
    .map((name) => join(UTS_DIR, name));
}

/** Whether anything claims, sweeps or still uses this index (a candidate must be free of all three). */
export function networkIndexInUse(index: number): boolean {
  const claim = `net-${index}.json`;
  if (readdirSafe(STATE_DIR).some((name) => name === claim || name.startsWith(`${claim}.`))) return true;
  return harnessNamespaces(index).length > 0;
}

/** Takes a network index for this process. False when someone else has it. */
export function claimNetworkIndex(index: number): boolean {
  if (networkIndexInUse(index)) return false;
  if (!tryCreateClaim(networkClaimPath(index), newClaim())) return false;
  // Namespaces of this index may have appeared between the check and the claim only if they are a dead
  // run's orphans (a live network claims before it creates); the index is ours now, so clear them.
  if (harnessNamespaces(index).length > 0 || harnessUtsFiles(index).length > 0)
    teardownNetworkIndex(index, []);
  return true;
}

/** Records a data dir in a claim, so a sweep can clean it up if this process dies. */
export function trackDataDir(claimPath: string, dir: TrackedDir): void {
  const claim = readClaim(claimPath);
  if (!claim) throw new Error(`harness claim ${claimPath} is missing or unreadable`);
  claim.dataDirs.push(keepFiles() ? { dataDir: dir.dataDir } : dir);
  rewriteClaim(claimPath, claim);
}

let localClaimCount = 0;

/** A claim for data dirs that belong to no network (loopback daemons). */
export function createLocalClaim(): string {
  const { pid, startTime } = owner();
  const path = join(STATE_DIR, `local-${pid}-${startTime}-${localClaimCount++}.json`);
  if (!tryCreateClaim(path, newClaim())) throw new Error(`harness claim ${path} already exists`);
  return path;
}

export function releaseClaim(path: string): void {
  rmSync(path, { force: true });
}

// ---- teardown ----------------------------------------------------------------------------------------

export class CleanupError extends Error {
  override name = 'CleanupError';
}

/**
 * Kills every process in the network's namespaces, deletes them (the bridge, veths and nftables rules
 * live inside and go with them), releases the hosts' UTS namespaces, and cleans the data dirs. Safe to
 * call on a half-made or already-removed network. Throws CleanupError only for processes that would not
 * die (everything else is still removed).
 */
export function teardownNetworkIndex(index: number, dataDirs: readonly TrackedDir[]): void {
  const namespaces = harnessNamespaces(index).map((ns) => ns.name);
  const inodes = namespaces
    .map((name) => namespaceInode(join(NETNS_DIR, name)))
    .filter((inode): inode is number => inode !== undefined);
  const survivors = killUntilGone(() => inodes.flatMap((inode) => pidsInNetworkNamespace(inode)));
  if (namespaces.length > 0) {
    // -force: carry on past a namespace someone else removed meanwhile.
    const script = namespaces.map((name) => `netns del ${name}\n`).join('');
    runSync('ip', ['-force', '-batch', '-'], { input: script, allowFailure: true });
  }
  const utsFiles = harnessUtsFiles(index);
  if (utsFiles.length > 0) {
    runSync('umount', utsFiles, { allowFailure: true });
    for (const file of utsFiles) rmSync(file, { force: true });
  }
  cleanDataDirs(dataDirs);
  if (survivors.length > 0) {
    throw new CleanupError(
      `processes in network ${index}'s namespaces survived SIGKILL: ${survivors.map(describeProcess).join(', ')}`,
    );
  }
}

/**
 * Kills whatever still runs from each data dir (daemon, task runner, tasks; a test dockerd, its containerd,
 * shims and containers), unmounts what is mounted below it (a dockerd's layers and namespaces), removes its
 * cgroups and folder.
 */
export function cleanDataDirs(dataDirs: readonly TrackedDir[]): void {
  for (const dir of dataDirs) {
    killDataDirProcesses(dir.dataDir);
    const parents = [
      ...(dir.cgroupParent ? [dir.cgroupParent] : []),
      ...(dir.podmanRoot ? podmanContainerCgroups(dir.podmanRoot) : []),
    ];
    for (const parent of parents) killUntilGone(() => pidsInCgroupTree(parent));
    unmountBelow(dir.removeDir ?? dir.dataDir);
    removeNodeNamespaces(dir.dataDir);
    // A docker executor's tmpfs mounts of its tasks' secrets and configs, outside the data dir.
    const taskFiles = taskFilesDir(dir.dataDir);
    unmountBelow(taskFiles);
    rmSync(taskFiles, { recursive: true, force: true });
    for (const parent of parents) removeCgroupTree(parent);
    const scope = executorScope(dir.dataDir);
    if (scope) removeScope(scope);
    if (dir.removeDir && !keepFiles()) rmSync(dir.removeDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * What a daemon's node networking made (its scope hashed from the data dir) and a dead daemon cannot purge:
 * its namespaces (`sh-<scope>-…` in /run/netns, bind mounts that outlive the test host whose daemon made
 * them; a network's VXLAN and bridges and a task's veths go with them) and, for a daemon in this process's
 * own namespace (a loopback daemon), its gateway bridge and nftables table (a harness host's go with it).
 */
function removeNodeNamespaces(dataDir: string): void {
  const names = new Names(scopeOf(dataDir));
  const namespaces = readdirSafe(NETNS_DIR).filter((name) => name.startsWith(names.prefix));
  const commands = [...namespaces.map((name) => `netns del ${name}`), `link del ${names.gatewayBridge}`];
  runSync('ip', ['-force', '-batch', '-'], {
    input: commands.map((c) => `${c}\n`).join(''),
    allowFailure: true,
  });
  runSync('nft', ['delete', 'table', 'ip', names.nftTable], { allowFailure: true });
}

/** The cgroups of a Podman's containers (cgroupfs manager), from the containers its storage holds. */
function podmanContainerCgroups(root: string): string[] {
  return readdirSafe(join(root, 'overlay-containers'))
    .filter((id) => /^[0-9a-f]{64}$/.test(id))
    .map((id) => `libpod_parent/libpod-${id}`);
}

/** Lazily unmounts every mount point at or below `dir`, deepest first (a dockerd's overlays, netns files). */
export function unmountBelow(dir: string): void {
  let real = dir;
  try {
    real = realpathSync(dir);
  } catch {
    return; // gone already
  }
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return;
  }
  const decode = (path: string): string =>
    path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  const points = text
    .split('\n')
    .map((line) => decode(line.split(' ')[4] ?? ''))
    .filter((point) => point === real || point.startsWith(`${real}/`))
    .sort((a, b) => b.length - a.length);
  for (const point of [...new Set(points)]) runSync('umount', ['-l', point], { allowFailure: true });
}

/** SIGKILLs the processes started from a data dir: by command line and by the tasks' cgroups. */
export function killDataDirProcesses(dataDir: string): number[] {
  const scope = executorScope(dataDir);
  const list = (): number[] => [
    ...new Set([...pidsUsingDir(dataDir), ...(scope ? pidsInScope(scopeCgroupDirs(scope)) : [])]),
  ];
  return killUntilGone(list);
}

// ---- live resources and exit hooks ------------------------------------------------------------------

/** Something to tear down synchronously if the process ends before the test did. */
export interface LiveResource {
  readonly description: string;
  cleanupSync(): void;
}

const live = new Set<LiveResource>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function cleanupAll(): void {
  for (const resource of [...live]) {
    live.delete(resource);
    try {
      resource.cleanupSync();
    } catch (err) {
      process.stderr.write(`shoal test harness: cleaning up ${resource.description}: ${String(err)}\n`);
    }
  }
}

const onExit = (): void => cleanupAll();
const onSignal = (signal: NodeJS.Signals): void => {
  cleanupAll();
  uninstallHooks();
  // Die of the signal as we would have without our handler, unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
};

let hooksInstalled = false;
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', onExit);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstallHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', onExit);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/** Registers a resource for cleanup at exit/signal; the hooks exist only while something is live. */
export function registerLive(resource: LiveResource): void {
  live.add(resource);
  installHooks();
}

export function unregisterLive(resource: LiveResource): void {
  live.delete(resource);
  // Our signal handlers would otherwise keep a SIGINT from ending the process.
  if (live.size === 0) uninstallHooks();
}

// ---- sweeping a crashed run's leftovers -------------------------------------------------------------

export interface SweepReport {
  /** Network indexes whose namespaces and files were removed. */
  networks: number[];
  /** Data dirs cleaned (processes killed, cgroups and folders removed). */
  dataDirs: string[];
  /** What could not be cleaned (e.g. a process that survived SIGKILL). */
  errors: string[];
}

function claimIsLive(path: string): boolean {
  const claim = readClaim(path);
  if (claim) return isProcessAlive(claim.owner.pid, claim.owner.startTime);
  try {
    return Date.now() - statSync(path).mtimeMs < CLAIM_WRITE_GRACE_MS;
  } catch {
    return false; // gone: not live, and nothing to take over
  }
}

const SWEEP_SUFFIX = /^(.+)\.sweep-(\d+)-(\d+)$/;
const sweepName = (claimName: string): string => `${claimName}.sweep-${owner().pid}-${owner().startTime}`;

/**
 * Takes a claim for sweeping by renaming it to our `.sweep-` name (only one sweeper can win a rename):
 * a dead owner's claim, or a dead sweeper's half-done job. 'busy' when a live process has it, 'absent'
 * when there is no claim at all.
 */
function takeOverClaim(claimName: string): { sweeping: string } | 'busy' | 'absent' {
  const mine = join(STATE_DIR, sweepName(claimName));
  const path = join(STATE_DIR, claimName);
  if (existsSync(path)) {
    if (claimIsLive(path)) return 'busy';
    return tryRename(path, mine);
  }
  for (const name of readdirSafe(STATE_DIR)) {
    const match = SWEEP_SUFFIX.exec(name);
    if (!match || match[1] !== claimName) continue;
    if (isProcessAlive(Number(match[2]), Number(match[3]))) return 'busy'; // another sweeper (or us) at it
    return tryRename(join(STATE_DIR, name), mine);
  }
  return 'absent';
}

function tryRename(from: string, to: string): { sweeping: string } | 'busy' {
  try {
    renameSync(from, to);
    return { sweeping: to };
  } catch {
    return 'busy'; // another sweeper renamed it first
  }
}

function sweepNetwork(index: number, report: SweepReport): void {
  const claimName = `net-${index}.json`;
  let taken = takeOverClaim(claimName);
  if (taken === 'absent') {
    // Orphan namespaces with no claim at all: claim the index ourselves first, so that nobody builds a
    // new network on it while we delete the old one.
    if (!tryCreateClaim(join(STATE_DIR, claimName), newClaim())) return;
    taken = tryRename(join(STATE_DIR, claimName), join(STATE_DIR, sweepName(claimName)));
  }
  if (taken === 'busy') return;
  const dataDirs = readClaim(taken.sweeping)?.dataDirs ?? [];
  try {
    teardownNetworkIndex(index, dataDirs);
    report.networks.push(index);
    report.dataDirs.push(...dataDirs.map((dir) => dir.dataDir));
  } catch (err) {
    report.errors.push(`network ${index}: ${String(err)}`);
  } finally {
    rmSync(taken.sweeping, { force: true });
  }
}

function sweepLocal(claimName: string, report: SweepReport): void {
  const taken = takeOverClaim(claimName);
  if (typeof taken === 'string') return;
  const dataDirs = readClaim(taken.sweeping)?.dataDirs ?? [];
  try {
    cleanDataDirs(dataDirs);
    report.dataDirs.push(...dataDirs.map((dir) => dir.dataDir));
  } catch (err) {
    report.errors.push(`${claimName}: ${String(err)}`);
  } finally {
    rmSync(taken.sweeping, { force: true });
  }
}

/**
 * Removes what earlier runs that died without cleaning up left behind: namespaces named `shoaltest-…`
 * whose claim's owner is dead (or that have no claim), their processes, UTS mounts and data dirs, and
 * loopback daemons' data dirs. Live runs' networks, in this process or others, are never touched.
 */
export function sweepStale(): SweepReport {
  const report: SweepReport = { networks: [], dataDirs: [], errors: [] };
  // Namespaces first, claims second: a network claims before it creates namespaces and deletes them
  // before it releases the claim, so a namespace listed here with no claim below is truly orphaned.
  const indexes = new Set(harnessNamespaces().map((ns) => ns.index));
  const locals = new Set<string>();
  for (const name of readdirSafe(STATE_DIR)) {
    const writer = /^tmp-(\d+)-/.exec(name);
    if (writer) {
      if (!isProcessAlive(Number(writer[1]))) rmSync(join(STATE_DIR, name), { force: true });
      continue;
    }
    const claimName = SWEEP_SUFFIX.exec(name)?.[1] ?? name;
    const network = /^net-(\d+)\.json$/.exec(claimName);
    if (network) indexes.add(Number(network[1]));
    else if (/^local-\d+-\d+-\d+\.json$/.test(claimName)) locals.add(claimName);
  }
  for (const index of [...indexes].sort((a, b) => a - b)) sweepNetwork(index, report);
  for (const claimName of locals) sweepLocal(claimName, report);
  return report;
}

let sweptOnce = false;
/** sweepStale() the first time this process needs the harness; later calls do nothing. */
export function sweepStaleOnce(): void {
  if (sweptOnce) return;
  sweptOnce = true;
  sweepStale();
}
