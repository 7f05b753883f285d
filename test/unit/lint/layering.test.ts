// The layering rules of eslint.config.js (docs/architecture.md §2) do what they say: ESLint, run through
// its Node API on source text that claims to live in a folder of src/, reports an import across a
// boundary the architecture forbids and stays quiet about the imports it allows.

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

// dist/test/unit/lint/ → the repository.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const eslint = new ESLint({ cwd: ROOT });

/** The layering errors ESLint reports for `code` as the file `filePath` (relative to the repository). */
async function layeringErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
  assert.ok(result, 'ESLint returned no result');
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering', () => {
  it('refuses an import the architecture forbids', async () => {
    const errors = await layeringErrors(
      'src/manager/x.ts',
      "import { Agent } from '../agent/agent.js';\nexport const agent = Agent;\n",
    );
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /'\.\.\/agent\/agent\.js' import is restricted/);
    assert.match(errors[0]!, /src\/manager\/ may import from src\/api, src\/store only/);
  });

  it('allows the imports the architecture allows', async () => {
    const code = [
      "import type { Task } from '../api/types.js';",
      "import type { KV } from '../store/kv.js';",
      "import { Orchestrator } from './orchestrator/orchestrator.js';",
      'export type Both = [Task, KV, Orchestrator];',
      '',
    ].join('\n');
    assert.deepEqual(await layeringErrors('src/manager/x.ts', code), []);
  });

  // [file, import, forbidden?]
  const cases: [string, string, boolean][] = [
    ['src/manager/orchestrator/update/x.ts', '../../../engineapi/backend.js', true],
    ['src/manager/orchestrator/update/x.ts', '../../dispatcher/dispatcher.js', false],
    ['src/manager/orchestrator/update/x.ts', '../../../store/objects.js', false],
    ['src/manager/dispatcher/x.ts', '../../cli/client.js', true],
    ['src/agent/executor/process/x.ts', '../../../manager/manager.js', true],
    ['src/agent/executor/process/x.ts', '../../../api/types.js', false],
    ['src/agent/executor/process/x.ts', '../../../version.js', false],
    ['src/agent/x.ts', '../cli/client.js', true],
    ['src/agent/executor/x.ts', '../../api/gotemplate/template.js', false],
    ['src/agent/executor/x.ts', '../../cli/format/template.js', true],
    ['src/cli/commands/x.ts', '../../engineapi/backend.js', true],
    ['src/cli/commands/x.ts', '../../daemon/main.js', true],
    ['src/cli/commands/x.ts', '../format/template.js', false],
    ['src/cli/commands/x.ts', '../../api/strconv.js', false],
    ['src/cli/commands/x.ts', '../../version.js', false],
    ['src/store/x.ts', '../manager/manager.js', true],
    ['src/store/x.ts', '../api/types.js', false],
    ['src/api/x.ts', '../store/kv.js', true],
    ['src/api/x.ts', '../version.js', true],
    ['src/api/x.ts', './own.js', false],
    ['src/engineapi/routes/x.ts', '../../manager/manager.js', true],
    ['src/daemon/x.ts', '../cli/main.js', true],
    ['src/daemon/x.ts', '../manager/manager.js', false],
    ['src/daemon/x.ts', '../agent/agent.js', false],
    ['src/store/x.ts', '../../test/unit/support/fake-clock.js', true],
    ['src/web/x.ts', '../api/control.js', false],
    ['src/web/x.ts', '../manager/controlapi/control-api.js', true],
    ['src/web/x.ts', '../engineapi/backend.js', true],
    ['src/web/x.ts', '../daemon/swarm-node.js', true],
    ['src/daemon/x.ts', '../web/server.js', false],
    ['src/manager/metrics/x.ts', '../../web/server.js', true],
    // The etcd client library only behind the store's etcd backend, which keeps the store's own rules.
    ['src/store/etcd/x.ts', 'etcd3', false],
    ['src/store/etcd/x.ts', '../kv.js', false],
    ['src/store/etcd/x.ts', '../../api/types.js', false],
    ['src/store/etcd/x.ts', '../../manager/manager.js', true],
    ['src/store/x.ts', 'etcd3', true],
    ['src/manager/x.ts', 'etcd3', true],
    ['src/daemon/etcd/x.ts', 'etcd3', true],
    ['src/daemon/etcd/x.ts', '../../store/etcd/kv.js', false],
  ];
  for (const [file, source, forbidden] of cases) {
    it(`${file}: ${source} is ${forbidden ? 'refused' : 'allowed'}`, async () => {
      const errors = await layeringErrors(file, `export * from '${source}';\n`);
      assert.equal(errors.length, forbidden ? 1 : 0, errors.join('\n'));
    });
  }

  it('covers every folder of src/', async () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true }).filter((entry) =>
      entry.isDirectory(),
    );
    assert.ok(folders.length > 0);
    for (const folder of folders) {
      const config = (await eslint.calculateConfigForFile(join(ROOT, 'src', folder.name, 'x.ts'))) as {
        rules?: Record<string, unknown>;
      };
      assert.ok(
        config.rules?.['no-restricted-imports'],
        `src/${folder.name}/ has no layering rule in eslint.config.js`,
      );
    }
  });
});
