/** Current time in the Engine API's timestamp format (RFC 3339 in UTC). */
export const nowTimestamp = (): string => new Date().toISOString();

/** Go's zero time as the Engine API prints it, used where Docker shows an unset timestamp. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
