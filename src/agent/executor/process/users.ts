// Resolves ContainerSpec.User (`user`, `uid`, `user:group`, `uid:gid`) and ContainerSpec.Groups against
// the host's /etc/passwd and /etc/group, following runc's user.GetExecUser so that the same spec gives the
// same uid, gid, supplementary groups, home and error text as Docker.

import { readFile } from 'node:fs/promises';

export interface ExecUser {
  uid: number;
  gid: number;
  /** Supplementary group IDs. */
  groups: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;
const NO_PASSWD_ENTRIES = 'no matching entries in passwd file';
const NO_GROUP_ENTRIES = 'no matching entries in group file';
const RANGE_ERROR = `uids and gids must be in range 0-${MAX_ID}`;

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [name = '', , uid = '', gid = '', , home = ''] = trimmed.split(':');
    entries.push({ name, uid: toInt(uid) ?? 0, gid: toInt(gid) ?? 0, home });
  }
  return entries;
}

export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [name = '', , gid = '', members = ''] = trimmed.split(':');
    entries.push({
      name,
      gid: toInt(gid) ?? 0,
      members: members
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
    });
  }
  return entries;
}

/**
 * The user a task runs as. `passwd`/`group` are the files' contents, undefined when a file is missing
 * (then only numeric IDs resolve, as in runc).
 */
export function resolveExecUser(
  spec: string | undefined,
  passwd: string | undefined,
  group: string | undefined,
  additionalGroups: readonly string[] = [],
): ExecUser {
  const [userArg = '', groupArg = ''] = splitOnce(spec ?? '', ':');
  const uidArg = toInt(userArg);
  const gidArg = toInt(groupArg);
  const users = passwd === undefined ? [] : parsePasswd(passwd);
  const groups = group === undefined ? [] : parseGroup(group);
  const result: ExecUser = { uid: 0, gid: 0, groups: [], home: '/' };

  // An empty user means root (uid 0), looked up so that home and groups come from its entry.
  const matchedUser = users.find((u) =>
    userArg === '' ? u.uid === 0 : uidArg !== undefined ? u.uid === uidArg : u.name === userArg,
  );
  if (matchedUser) {
    result.uid = matchedUser.uid;
    result.gid = matchedUser.gid;
    result.home = matchedUser.home;
  } else if (userArg !== '') {
    if (uidArg === undefined) throw new Error(`unable to find user ${userArg}: ${NO_PASSWD_ENTRIES}`);
    if (uidArg > MAX_ID) throw new Error(RANGE_ERROR);
    result.uid = uidArg;
  }

  if (groupArg !== '') {
    const matchedGroup = groups.find((g) => (gidArg !== undefined ? g.gid === gidArg : g.name === groupArg));
    if (matchedGroup) result.gid = matchedGroup.gid;
    else {
      if (gidArg === undefined) throw new Error(`unable to find group ${groupArg}: ${NO_GROUP_ENTRIES}`);
      if (gidArg > MAX_ID) throw new Error(RANGE_ERROR);
      result.gid = gidArg;
    }
  } else if (matchedUser) {
    // Supplementary groups only in the implicit form (no explicit group), as runc does.
    result.groups = groups.filter((g) => g.members.includes(matchedUser.name)).map((g) => g.gid);
  }

  for (const wanted of additionalGroups) {
    const found = groups.find((g) => g.name === wanted || String(g.gid) === wanted);
    let gid = found?.gid;
    if (gid === undefined) {
      gid = toInt(wanted);
      if (gid === undefined) throw new Error(`Unable to find group ${wanted}: ${NO_GROUP_ENTRIES}`);
      if (gid > MAX_ID) throw new Error(RANGE_ERROR);
    }
    if (!result.groups.includes(gid)) result.groups.push(gid);
  }
  return result;
}

/** How long the account files are reused: starting hundreds of tasks reads them once, not per task. */
const ACCOUNT_FILES_TTL_MS = 1000;
let accountFiles: { at: number; texts: Promise<[string | undefined, string | undefined]> } | undefined;

/** Reads the host's account files (/etc/passwd, /etc/group) and resolves the user. */
export async function loadExecUser(
  spec: string | undefined,
  additionalGroups: readonly string[] = [],
): Promise<ExecUser> {
  const now = Date.now();
  if (!accountFiles || now - accountFiles.at > ACCOUNT_FILES_TTL_MS) {
    accountFiles = { at: now, texts: Promise.all([readOptional('/etc/passwd'), readOptional('/etc/group')]) };
  }
  const [passwd, group] = await accountFiles.texts;
  return resolveExecUser(spec, passwd, group, additionalGroups);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function splitOnce(s: string, separator: string): [string, string] {
  const at = s.indexOf(separator);
  return at === -1 ? [s, ''] : [s.slice(0, at), s.slice(at + 1)];
}

function toInt(s: string): number | undefined {
  return /^\d+$/.test(s) ? Number(s) : undefined;
}
