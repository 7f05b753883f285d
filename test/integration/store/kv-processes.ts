// The KV contract where it takes several processes: a writer killed with SIGKILL loses no acknowledged
// write, and processes racing on one key by compare-and-swap lose no increment. The unit conformance suite
// (test/unit/store/kv-conformance.ts) covers the rest in one process.
//
// Usage, from a backend's test file:
//
//   runKVProcessConformance('SqliteKV', {
//     newLocation: async () => join(tempDir, `${n++}.db`),
//     open: async (location) => new SqliteKV(location),
//     childOpenerModule: new URL('./sqlite-opener.js', import.meta.url).href,
//   });

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

import type { KV } from '../../../src/store/kv.js';

export interface KVProcessTarget {
  /** A location for a new, empty store: a file path, an etcd key namespace… */
  newLocation(): Promise<string>;
  /** Opens the store at `location` (in this process). */
  open(location: string): Promise<KV>;
  /** Removes whatever `newLocation` created; called once, after the suite. */
  dispose?(): Promise<void>;
  /**
   * URL of a module exporting `openKV(location: string): Promise<KV>`, which the child processes (kv-child)
   * import to open the same store.
   */
  childOpenerModule: string;
}

/** Generous bound for things that should happen promptly; only reached when a test is failing. */
const EVENTUALLY_MS = 10_000;

interface StoreOpener {
  readonly location: string;
  /** Opens another client of the same store (closed by the suite). */
  open(): Promise<KV>;
}

export function runKVProcessConformance(name: string, target: KVProcessTarget): void {
  /** Runs `body` against a fresh store, closing every client it opened even if the body fails. */
  async function withStore(body: (kv: KV, stores: StoreOpener) => Promise<void>): Promise<void> {
    const location = await target.newLocation();
    const opened: KV[] = [];
    const stores: StoreOpener = {
      location,
      open: async () => {
        const kv = await target.open(location);
        opened.push(kv);
        return kv;
      },
    };
    try {
      await body(await stores.open(), stores);
    } finally {
      for (const kv of opened) await kv.close();
    }
  }

  describe(`KV conformance: ${name}, several processes`, () => {
    after(async () => {
      await target.dispose?.();
    });

    it('keeps every acknowledged write when the writer is killed with SIGKILL', () =>
      withStore(async (kv, stores) => {
        await kv.close();
        const acknowledged = await writeUntilKilled(target.childOpenerModule, stores.location, 25);
        assert.ok(acknowledged.length >= 25);
        const reopened = await stores.open();
        for (const { index, revision } of acknowledged) {
          const entry = await reopened.get(`/durable/${index}`);
          assert.deepEqual(entry?.value, { index }, `write ${index} was acknowledged but is gone`);
          assert.equal(entry?.modRevision, revision);
        }
        // The store is usable after the crash.
        const revision = await reopened.put('/after', true);
        assert.ok(revision > acknowledged.at(-1)!.revision);
      }));

    it('loses no compare-and-swap increment when processes race on one key', () =>
      withStore(async (kv, stores) => {
        await kv.put('/counter', 0);
        const [processes, increments] = [3, 40];
        await Promise.all(
          Array.from({ length: processes }, () =>
            runChild(target.childOpenerModule, stores.location, [
              'increment',
              '/counter',
              String(increments),
            ]),
          ),
        );
        const entry = await kv.get('/counter');
        assert.equal(entry?.value, processes * increments);
        assert.equal(entry?.version, processes * increments + 1);
      }));
  });
}

const CHILD_SCRIPT = fileURLToPath(new URL('./kv-child.js', import.meta.url));

/** Runs kv-child to completion; resolves with its output. */
function runChild(openerModule: string, location: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [CHILD_SCRIPT, openerModule, location, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), EVENTUALLY_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`kv-child ${args.join(' ')} failed (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

/**
 * Runs kv-child's write-until-killed, which writes `/durable/<i>` keys one after another and prints each
 * acknowledged write; kills it with SIGKILL as soon as `count` writes are acknowledged, while it is in the
 * middle of further writes. Returns every write it acknowledged.
 */
async function writeUntilKilled(
  openerModule: string,
  location: string,
  count: number,
): Promise<{ index: number; revision: number }[]> {
  const child = spawn(process.execPath, [CHILD_SCRIPT, openerModule, location, 'write-until-killed'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acknowledged: { index: number; revision: number }[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let buffered = '';
  const exited = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer did not acknowledge ${count} writes in time: ${stderr}`));
    }, EVENTUALLY_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited on its own (code ${code}): ${stderr}`));
    });
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      const [index, revision] = line.split(' ').map(Number);
      acknowledged.push({ index: index!, revision: revision! });
    }
    if (acknowledged.length >= count && child.exitCode === null && !child.killed) child.kill('SIGKILL');
  });
  await exited;
  return acknowledged;
}
