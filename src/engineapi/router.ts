// A small method+path router: `/services/{id}/update` patterns, matched in registration order. A parameter
// is one path segment; `{name:.*}` (gorilla/mux's notation, as dockerd writes its image routes) takes one
// or more, slashes included.

import type { Reply, RequestContext } from './http.js';

export type Handler = (ctx: RequestContext) => Promise<Reply>;

interface Route {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export interface RouteMatch {
  handler: Handler;
  /** The route as registered (`/services/{id}/update`). */
  template: string;
  params: Record<string, string>;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, template: string, handler: Handler): this {
    const names: string[] = [];
    const source = template
      .split('/')
      .map((part) => {
        const m = /^\{(\w+)(:\.\*)?\}$/.exec(part);
        if (!m) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        names.push(m[1]!);
        return m[2] ? '(.+)' : '([^/]+)';
      })
      .join('/');
    this.routes.push({ method, template, pattern: new RegExp(`^${source}/?$`), names, handler });
    return this;
  }

  get(template: string, handler: Handler): this {
    return this.add('GET', template, handler);
  }
  post(template: string, handler: Handler): this {
    return this.add('POST', template, handler);
  }
  delete(template: string, handler: Handler): this {
    return this.add('DELETE', template, handler);
  }
  head(template: string, handler: Handler): this {
    return this.add('HEAD', template, handler);
  }

  /** The matching route, or `'method'` if the path exists with another method, or undefined. */
  match(method: string, path: string): RouteMatch | 'method' | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodePathSegment(m[i + 1]!);
      });
      return { handler: route.handler, template: route.template, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

/** A path segment with its %-escapes decoded; a malformed escape is kept as typed (Go keeps it too). */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
