// Typed errors. Each carries the gRPC-style code swarmkit would use and the HTTP status the Docker
// Engine maps it to; the Engine API layer turns them into `{"message": …}` bodies in one place.

export type ErrorCode =
  | 'InvalidArgument'
  | 'NotFound'
  | 'AlreadyExists'
  | 'FailedPrecondition'
  | 'PermissionDenied'
  | 'Unauthenticated'
  | 'Unavailable'
  | 'Unimplemented'
  | 'Unknown'
  | 'Internal';

const HTTP_STATUS: Record<ErrorCode, number> = {
  InvalidArgument: 400,
  NotFound: 404,
  AlreadyExists: 409,
  FailedPrecondition: 400,
  PermissionDenied: 403,
  Unauthenticated: 401,
  Unavailable: 503,
  Unimplemented: 501,
  Unknown: 500,
  Internal: 500,
};

export interface ShoalErrorOptions {
  /** HTTP status to use instead of the code's default (Docker is not always consistent). */
  status?: number;
  /**
   * Whether the Engine API shows the message with swarmkit's gRPC prefix
   * (`rpc error: code = X desc = …`), as Docker does for errors raised inside the swarm layer.
   */
  rpc?: boolean;
  /** What caused it (for logs; never shown to API clients). */
  cause?: unknown;
}

export class ShoalError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly rpc: boolean;

  constructor(code: ErrorCode, message: string, options: ShoalErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShoalError';
    this.code = code;
    this.status = options.status ?? HTTP_STATUS[code];
    this.rpc = options.rpc ?? false;
  }

  /** The message as the Engine API returns it. */
  apiMessage(): string {
    return this.rpc ? `rpc error: code = ${this.code} desc = ${this.message}` : this.message;
  }
}

export const invalidArgument = (message: string, options?: ShoalErrorOptions): ShoalError =>
  new ShoalError('InvalidArgument', message, options);

export const notFound = (message: string, options?: ShoalErrorOptions): ShoalError =>
  new ShoalError('NotFound', message, options);

export const alreadyExists = (message: string, options?: ShoalErrorOptions): ShoalError =>
  new ShoalError('AlreadyExists', message, { rpc: true, ...options });

export const failedPrecondition = (message: string, options?: ShoalErrorOptions): ShoalError =>
  new ShoalError('FailedPrecondition', message, { rpc: true, ...options });

export const unavailable = (message: string, options?: ShoalErrorOptions): ShoalError =>
  new ShoalError('Unavailable', message, options);

export const unimplemented = (message: string, options?: ShoalErrorOptions): ShoalError =>
  new ShoalError('Unimplemented', message, options);

export const permissionDenied = (message: string, options?: ShoalErrorOptions): ShoalError =>
  new ShoalError('PermissionDenied', message, options);

/** swarmkit's stale-version error: a plain error, so gRPC reports it as Unknown and Docker as a 500. */
export const outOfSequence = (): ShoalError =>
  new ShoalError('Unknown', 'update out of sequence', { rpc: true });

export const isShoalError = (err: unknown): err is ShoalError => err instanceof ShoalError;

export const isNotFound = (err: unknown): boolean => isShoalError(err) && err.code === 'NotFound';

// Messages the Engine API gives when the node cannot answer swarm calls. Text as Docker's.
export const NOT_A_MANAGER =
  'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
/** Docker's answer while a manager of an autolocked swarm waits for its unlock key (503). */
export const SWARM_LOCKED =
  'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.';
/** Docker's answer to `swarm unlock` with a key that does not open the data key (401). */
export const INVALID_UNLOCK_KEY = 'swarm could not be unlocked: invalid key provided';
/** Docker's answer when no manager leads (a majority of managers is down, or an election is under way). */
export const NO_LEADER =
  "The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.";
export const WORKER_NOT_MANAGER =
  "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. Please run this command on a manager node or promote the current node to a manager.";
export const ALREADY_IN_SWARM =
  'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.';
export const NOT_IN_SWARM = 'This node is not part of a swarm';
