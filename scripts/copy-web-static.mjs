// Part of `npm run build`: the dashboard's page (plain HTML, CSS and ES modules, nothing to compile) goes
// beside the compiled server, dist/src/web/static/, which is where shoald serves it from.
import { cpSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, 'dist/src/web/static');
rmSync(target, { recursive: true, force: true });
cpSync(join(root, 'src/web/static'), target, { recursive: true });
