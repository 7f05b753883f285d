// `--with-registry-auth`: the credentials for an image's registry, found and encoded as the docker CLI does
// it (cli/config, cli/config/configfile, cli/config/credentials, command.RetrieveAuthTokenFromImage):
//
// - the config file is `$DOCKER_CONFIG/config.json`, or `~/.docker/config.json` (shoal has no `--config`
//   flag); a missing file is an empty one, a broken one is warned about and read as far as it went;
// - the registry's key is the image's domain (`registry.test:5000`), or `https://index.docker.io/v1/` for
//   Docker Hub; an `auths` entry is found by that key, else by an entry whose URL has that host;
// - a credential helper (`credHelpers` for that key, else `credsStore`; with no credentials configured at all,
//   `secretservice` or `pass` when its helper is installed, as on Linux) is run as
//   `docker-credential-<name> get` with the key on its stdin, and answers `{ServerURL, Username, Secret}`
//   (`<token>` as the user name makes the secret an identity token);
// - the header is base64url (with padding) of the entry's JSON (username, password, email, serveraddress,
//   identitytoken, registrytoken), empty fields left out: `e30=` (`{}`) when nothing is stored.

import { spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { DEFAULT_DOMAIN, parseNormalizedNamed } from '../api/reference.js';
import { goJSON } from './format/gojson.js';

/** moby's registry.AuthConfig, with its JSON names. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** What the CLI reads of a docker config file. */
export interface ConfigFile {
  filename: string;
  /** Registry key → credentials, with `auth` decoded into username and password (as the CLI loads it). */
  auths: Map<string, AuthConfig>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** Docker Hub's key in `auths` (registry.IndexServer). */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

const HELPER_PREFIX = 'docker-credential-';
const TOKEN_USERNAME = '<token>';
const CREDENTIALS_NOT_FOUND = 'credentials not found in native keychain';

/** The environment the lookup runs in (for tests), and where a broken config file is reported. */
export interface RegistryAuthContext {
  env: Readonly<Record<string, string | undefined>>;
  warn: (line: string) => void;
}

/** config.Dir(): `$DOCKER_CONFIG`, else `~/.docker`. */
export function configDir(env: Readonly<Record<string, string | undefined>>): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
}

/** config.LoadDefaultConfigFile: the config file, or an empty one, with Docker's warning when it is broken. */
export function loadConfigFile(context: RegistryAuthContext): ConfigFile {
  const filename = join(configDir(context.env), 'config.json');
  const config: ConfigFile = { filename, auths: new Map() };
  let text: string | undefined;
  try {
    text = readFileSync(filename, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      context.warn(`WARNING: Error loading config file: loading config file: ${(err as Error).message}`);
    }
  }
  if (text !== undefined) {
    try {
      readConfig(config, text);
    } catch (err) {
      context.warn(
        `WARNING: Error loading config file: loading config file: ${filename}: : ${(err as Error).message}`,
      );
    }
  }
  if (!config.credsStore && !config.credHelpers && config.auths.size === 0) {
    config.credsStore = defaultStore(context.env);
  }
  return config;
}

/** ConfigFile.LoadFromReader: the JSON, then each `auths` entry's `auth` decoded, its key as its address. */
function readConfig(config: ConfigFile, text: string): void {
  if (text.trim() === '') return;
  const json = JSON.parse(text) as unknown;
  if (!isObject(json)) throw new Error('the config file is not a JSON object');
  const field = (name: string): unknown => {
    // Go's decoder matches field names case-insensitively.
    const key = Object.keys(json).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : json[key];
  };
  const auths = field('auths');
  if (isObject(auths)) {
    for (const [address, raw] of Object.entries(auths)) {
      const entry: AuthConfig = {};
      if (isObject(raw)) {
        for (const name of [
          'username',
          'password',
          'auth',
          'email',
          'serveraddress',
          'identitytoken',
          'registrytoken',
        ] as const) {
          const key = Object.keys(raw).find((k) => k.toLowerCase() === name);
          const value = key === undefined ? undefined : raw[key];
          if (typeof value === 'string' && value !== '') entry[name] = value;
        }
      }
      config.auths.set(address, entry);
    }
  }
  const credsStore = field('credsStore');
  if (typeof credsStore === 'string' && credsStore) config.credsStore = credsStore;
  const credHelpers = field('credHelpers');
  if (isObject(credHelpers)) {
    config.credHelpers = Object.fromEntries(
      Object.entries(credHelpers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
  }
  for (const [address, entry] of config.auths) {
    if (entry.auth) {
      const { username, password } = decodeAuth(entry.auth);
      entry.username = username;
      entry.password = password;
    }
    delete entry.auth;
    entry.serveraddress = address;
  }
}

/** configfile.decodeAuth: `user:password` in standard base64 with padding. */
export function decodeAuth(auth: string): { username: string; password: string } {
  const bad = /[^A-Za-z0-9+/=]/.exec(auth);
  if (bad) throw new Error(`illegal base64 data at input byte ${bad.index}`);
  const padding = auth.indexOf('=');
  if (auth.length % 4 !== 0 || (padding >= 0 && !/^=*$/.test(auth.slice(padding)))) {
    throw new Error(
      `illegal base64 data at input byte ${padding >= 0 ? padding : auth.length - (auth.length % 4)}`,
    );
  }
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new Error('Invalid auth configuration file');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '') };
}

/** credentials.ConvertToHostname: `https://host:port/path` → `host:port`; `host/path` → `host`. */
export function convertToHostname(maybeURL: string): string {
  const url = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(maybeURL);
  if (url) {
    const authority = url[1]!.slice(url[1]!.lastIndexOf('@') + 1);
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(authority);
    const hostname = m ? m[1]!.replace(/^\[(.*)\]$/, '$1') : '';
    if (hostname !== '') {
      const port = m?.[2] ?? '';
      if (port === '') return hostname;
      return hostname.includes(':') ? `[${hostname}]:${port}` : `${hostname}:${port}`;
    }
  }
  const slash = maybeURL.indexOf('/');
  return slash < 0 ? maybeURL : maybeURL.slice(0, slash);
}

/** The credentials stored for a registry key (ConfigFile.GetAuthConfig). */
export async function getAuthConfig(
  config: ConfigFile,
  key: string,
  context: RegistryAuthContext,
): Promise<AuthConfig> {
  const fromFile = fileStoreGet(config, key);
  const helper = (key !== '' && config.credHelpers?.[key]) || config.credsStore;
  if (!helper) return fromFile;
  // nativeStore.Get: what the file says, its credentials replaced by the helper's.
  const creds = await helperGet(helper, key, context.env);
  const out: AuthConfig = { ...fromFile };
  for (const name of ['username', 'password', 'identitytoken', 'serveraddress'] as const) {
    if (creds[name]) out[name] = creds[name];
    else delete out[name];
  }
  return out;
}

function fileStoreGet(config: ConfigFile, key: string): AuthConfig {
  const exact = config.auths.get(key);
  if (exact) return { ...exact };
  for (const [address, entry] of config.auths) {
    if (convertToHostname(address) === key) return { ...entry };
  }
  return {};
}

/** client.Get of docker-credential-helpers, and nativeStore.getCredentialsFromStore. */
async function helperGet(
  helper: string,
  serverAddress: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<AuthConfig> {
  const program = HELPER_PREFIX + helper;
  const { code, stdout, spawnError } = await runHelper(program, serverAddress, env);
  if (spawnError || code !== 0) {
    const out = stdout.trim();
    if (out === CREDENTIALS_NOT_FOUND) return {};
    let err = spawnError ?? `exit status ${code}`;
    if (out === 'no credentials server URL' || out === 'no credentials username') err = out;
    throw new Error(`error getting credentials - err: ${err}, out: \`${out}\``);
  }
  const answer = JSON.parse(stdout) as unknown;
  const field = (name: string): string => {
    if (!isObject(answer)) return '';
    const key = Object.keys(answer).find((k) => k.toLowerCase() === name.toLowerCase());
    const value = key === undefined ? undefined : answer[key];
    return typeof value === 'string' ? value : '';
  };
  const username = field('Username');
  const secret = field('Secret');
  return username === TOKEN_USERNAME
    ? { identitytoken: secret, serveraddress: serverAddress }
    : { username, password: secret, serveraddress: serverAddress };
}

function runHelper(
  program: string,
  input: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ code: number | null; stdout: string; spawnError?: string }> {
  return new Promise((resolve) => {
    const found = lookPath(program, env);
    if (!found) {
      resolve({
        code: null,
        stdout: '',
        spawnError: `exec: "${program}": executable file not found in $PATH`,
      });
      return;
    }
    const child = spawn(found, ['get'], { env: { ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (stdout += chunk));
    child.on('error', (err) =>
      resolve({ code: null, stdout, spawnError: `exec: "${program}": ${err.message}` }),
    );
    child.on('close', (code) => resolve({ code, stdout }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** exec.LookPath: the first executable `name` on $PATH. */
function lookPath(name: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir || '.', name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

/** credentials.DetectDefaultStore on Linux: `pass` if installed, else `secretservice`, if its helper is. */
function defaultStore(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const platformDefault = lookPath('pass', env) ? 'pass' : 'secretservice';
  return lookPath(HELPER_PREFIX + platformDefault, env) ? platformDefault : undefined;
}

/** registrytypes.EncodeAuthConfig: base64url (padded) of the JSON, empty fields left out. */
export function encodeAuthConfig(auth: AuthConfig): string {
  const json: Record<string, string> = {};
  for (const name of [
    'username',
    'password',
    'auth',
    'email',
    'serveraddress',
    'identitytoken',
    'registrytoken',
  ] as const) {
    const value = auth[name];
    if (value) json[name] = value;
  }
  return Buffer.from(goJSON(json)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * command.RetrieveAuthTokenFromImage: the `X-Registry-Auth` value for `image`'s registry. Throws the
 * reference's error for an image that does not parse, or a helper's.
 */
export async function retrieveAuthTokenFromImage(
  image: string,
  context: RegistryAuthContext,
): Promise<string> {
  const ref = parseNormalizedNamed(image);
  const key = ref.domain === DEFAULT_DOMAIN || ref.domain === 'index.docker.io' ? INDEX_SERVER : ref.domain;
  // Every field, the email too (the docker CLI 28 converts the whole entry).
  return encodeAuthConfig(await getAuthConfig(loadConfigFile(context), key, context));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
