// Child process for the multi-process tests in kv-processes.ts; not a test file. It opens the store with
// the opener module given on the command line (a module exporting `openKV(location): Promise<KV>`), then:
//
//   write-until-killed   writes `/durable/<i>` = {index: i} for i = 0, 1, 2, … one after another, printing
//                        `<i> <revision>` only after each write is acknowledged, until it is killed.
//   increment <key> <n>  adds 1 to the number at <key>, n times, each by compare-and-swap on its
//                        modRevision, retrying when another writer got there first; prints how many
//                        retries it took (useful when looking into a failure by hand).

import type { KV } from '../../../src/store/kv.js';

const [openerModule, location, mode, ...args] = process.argv.slice(2);
if (!openerModule || !location || !mode) {
  process.stderr.write('usage: kv-child <opener module URL> <store location> <mode> [args]\n');
  process.exit(2);
}
// The parent ends this process; should the parent die first, do not run forever.
setTimeout(() => process.exit(3), 30_000).unref();

const { openKV } = (await import(openerModule)) as { openKV(location: string): Promise<KV> };
const kv = await openKV(location);
/** Writes resolve without touching the event loop; yielding lets the exit timer fire. */
const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));

switch (mode) {
  case 'write-until-killed':
    for (let index = 0; ; index++) {
      const revision = await kv.put(`/durable/${index}`, { index });
      process.stdout.write(`${index} ${revision}\n`);
      await yieldToEventLoop();
    }
  case 'increment': {
    const [key, times] = [args[0]!, Number(args[1])];
    let retries = 0;
    for (let done = 0; done < times;) {
      const entry = await kv.get(key);
      const response = await kv.txn({
        compares: [{ key, target: 'modRevision', op: '=', value: entry?.modRevision ?? 0 }],
        success: [{ type: 'put', key, value: ((entry?.value as number | undefined) ?? 0) + 1 }],
      });
      if (response.succeeded) done++;
      else retries++;
      await yieldToEventLoop();
    }
    await kv.close();
    process.stdout.write(`${retries}\n`);
    break;
  }
  default:
    process.stderr.write(`unknown mode ${mode}\n`);
    process.exit(2);
}
