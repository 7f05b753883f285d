// Who may see the dashboard and the metrics: anyone who can reach a loopback address (the machine's own
// users; remote ones through an SSH tunnel), and on any other address only who shows the token — never an
// open door. The token comes as `Authorization: Bearer <token>` (Prometheus, curl), as the cookie the page
// sets, or once as `?token=` in the address the daemon logs, which the page trades for the cookie.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export const TOKEN_COOKIE = 'shoal_token';

/** `host:port` → its parts (`[::1]:9090` for IPv6); throws with a message naming the flag's value. */
export function parseListenAddress(value: string, flag: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new Error(`invalid ${flag} "${value}": use host:port (127.0.0.1:9090)`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host, port };
}

/** 127.0.0.0/8, ::1 (and ::ffff:127.x), `localhost`: only this machine can connect. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** A new random token (32 bytes, base64url). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The check one listener applies: open (loopback without a token) or the token. */
export class Access {
  private readonly digest: Buffer | undefined;

  /** `token` undefined: open. Callers pass one for every address that is not loopback. */
  constructor(token: string | undefined) {
    this.digest = token === undefined ? undefined : sha256(token);
  }

  get open(): boolean {
    return this.digest === undefined;
  }

  /** Whether the request shows the token (in its header, its cookie or its `token` query parameter). */
  allows(req: IncomingMessage, url: URL): boolean {
    if (!this.digest) return true;
    return [bearer(req), cookie(req, TOKEN_COOKIE), url.searchParams.get('token') ?? undefined].some(
      (candidate) => candidate !== undefined && timingSafeEqual(sha256(candidate), this.digest!),
    );
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
