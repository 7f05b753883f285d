// Messages between the benchmark and the processes of its simulated fleet (Node's IPC channel).

import type { SimulatedBehaviour } from './executor.js';

export type FleetCommand =
  | { readonly kind: 'kill'; readonly hostnames: readonly string[] }
  | { readonly kind: 'behave'; readonly behaviour: SimulatedBehaviour }
  | { readonly kind: 'exit' };

export type FleetReport =
  | { readonly kind: 'joined'; readonly joined: number }
  | { readonly kind: 'ready'; readonly hostnames: readonly string[] }
  | { readonly kind: 'killed'; readonly count: number }
  | { readonly kind: 'behaving' }
  | { readonly kind: 'failed'; readonly error: string };
