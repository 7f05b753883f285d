import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layering of docs/architecture.md §2, checked: what each top-level folder of src/ may import from
// the others (`allow`: these and nothing else; `deny`: anything but these). Its own folder is always
// allowed; nothing in src/ may import from outside src/. `version.js` is src/version.ts. A new folder of
// src/ gets a line here when it is created (test/unit/lint/layering.test.ts checks that every one has).
const LAYERS = {
  api: { allow: [], why: 'the shared object model and protocols import nothing else from src/' },
  store: { allow: ['api'], why: 'the store serves the roles and knows none of them' },
  manager: {
    allow: ['api', 'store'],
    why: 'the manager reaches agents through the cluster protocol and clients through api/ shapes',
  },
  agent: {
    allow: ['api', 'version.js'],
    why: 'the agent talks to managers only through the cluster protocol',
  },
  engineapi: { allow: ['api'], why: 'the Engine API reaches the roles only through its backend interface' },
  compose: {
    allow: ['api'],
    why: 'Compose files become specs without a daemon: the loader and converter know no role',
  },
  cli: {
    allow: ['api', 'compose', 'version.js'],
    why: 'the CLI talks to daemons only through the Engine API',
  },
  daemon: { deny: ['cli'], why: 'the daemon composes the roles; the CLI is a separate program' },
  web: {
    allow: ['api'],
    why: 'the dashboard reads the swarm through the source the daemon hands it (src/web/source.ts), in src/api/ shapes',
  },
};

/**
 * Third-party packages only one folder of src/ may import, so that a library stays behind the one module
 * that adapts it: `home` (a folder below src/) and everything under it may, nothing else may.
 */
const PACKAGES = [
  {
    name: 'etcd3',
    home: 'store/etcd',
    why: 'the etcd client library stays behind the store’s etcd backend, the rest of shoal sees the KV contract',
  },
];

/** What the dashboard's page (src/web/static/, plain ES modules run by the browser) may use. */
const BROWSER_GLOBALS = Object.fromEntries(
  [
    'document',
    'window',
    'location',
    'history',
    'EventSource',
    'URL',
    'URLSearchParams',
    'setTimeout',
    'clearTimeout',
    'requestAnimationFrame',
    'performance',
    'matchMedia',
    'localStorage',
    'HTMLElement',
    'Intl',
  ].map((name) => [name, 'readonly']),
);

/** Files nested deeper than this below src/<folder>/ are not checked: raise it when the tree grows. */
const MAX_DEPTH = 8;

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * no-restricted-imports for one folder, one config per nesting depth: a relative import that climbs to
 * src/ climbs exactly as many `../` as the file is deep, so the entry it names next is the folder it
 * reaches.
 */
function layer(folder, { allow, deny, why }, home) {
  const shown = (list) => list.map((f) => `src/${f.replace(/\.js$/, '.ts')}`).join(', ');
  const rule = !allow
    ? `must not import from ${shown(deny)}`
    : allow.length
      ? `may import from ${shown(allow)} only`
      : 'must not import from any other part of src/';
  const message = `src/${folder}/ ${rule}: ${why} (docs/architecture.md §2).`;
  const names = (list) => list.map(escape).join('|');
  // Inside a package's home (`home`: a folder below src/<folder>/), that package is allowed.
  const homeDepth = home ? home.split('/').length - 1 : 0;
  const packages = PACKAGES.filter((p) => p.home !== home).map((p) => ({
    group: [p.name, `${p.name}/*`],
    message: `only src/${p.home}/ may import ${p.name}: ${p.why} (docs/architecture.md §2).`,
  }));
  return Array.from({ length: MAX_DEPTH - homeDepth }, (_, i) => {
    const depth = i + homeDepth;
    const up = '\\.\\./'.repeat(depth + 1);
    // After the climb: (allow) anything but an allowed entry or a further climb, (deny) a denied entry.
    const reached = allow
      ? `(?!(?:${names([folder, ...allow])})(?:/|$)|\\.\\./)`
      : `(?:${names(deny)})(?:/|$)`;
    return {
      files: [home ? `src/${home}/${'*/'.repeat(i)}*.ts` : `src/${folder}/${'*/'.repeat(depth)}*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              { regex: `^${up}${reached}`, message },
              { regex: `^${up}\\.\\./`, message: 'Nothing in src/ imports from outside src/.' },
              ...packages,
            ],
          },
        ],
      },
    };
  });
}

export default tseslint.config(
  { ignores: ['dist/', '.build/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...Object.entries(LAYERS).flatMap(([folder, rule]) => layer(folder, rule)),
  // Later entries win: a package's home gets its folder's rules without that package's restriction.
  ...PACKAGES.map((p) => layer(p.home.split('/')[0], LAYERS[p.home.split('/')[0]], p.home)).flat(),
  { files: ['src/web/static/**/*.js'], languageOptions: { sourceType: 'module', globals: BROWSER_GLOBALS } },
);
