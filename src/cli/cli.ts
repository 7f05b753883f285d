// What every command runs against: the streams, the daemon address and a lazily created Engine API
// client. Tests build one over buffers and a fake client.

import { EngineClient } from './client.js';
import type { OutStream, Streams } from './streams.js';

export interface CliOptions {
  streams: Streams;
  /** The daemon address (`-H`, `SHOAL_HOST`, `DOCKER_HOST`, or the default socket). */
  host: string;
  /** Makes the Engine API client; tests pass a fake. */
  clientFactory?: (host: string) => EngineClient;
  /** The clock, in milliseconds since the epoch (tests freeze it). */
  now?: () => number;
  /** Waits between polls (tests make it instant). */
  sleep?: (ms: number) => Promise<void>;
  /** Environment variables (`--env` reads unset values from it, like Docker). */
  env?: Readonly<Record<string, string | undefined>>;
}

export class Cli {
  private engine: EngineClient | undefined;
  readonly host: string;
  readonly streams: Streams;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly env: Readonly<Record<string, string | undefined>>;
  private readonly clientFactory: (host: string) => EngineClient;

  constructor(options: CliOptions) {
    this.streams = options.streams;
    this.host = options.host;
    this.clientFactory = options.clientFactory ?? ((host) => new EngineClient(host));
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.env = options.env ?? process.env;
  }

  get out(): OutStream {
    return this.streams.out;
  }

  get err(): OutStream {
    return this.streams.err;
  }

  /** The Engine API client, created on first use (flag errors never touch the daemon). */
  client(): EngineClient {
    this.engine ??= this.clientFactory(this.host);
    return this.engine;
  }
}
