// A root CA certificate issued by a real Docker Engine 20.10.24 at `swarm init`, with the values Docker
// derived from it, as recorded from the docker CLI's `GET /swarm`. They pin our
// digest and TLSInfo computations to Docker's.

export const DOCKER_ROOT_CA_PEM =
  '-----BEGIN CERTIFICATE-----\n' +
  'MIIBajCCARCgAwIBAgIUbn/fklF/pGA+UDBZQbv6jgr+BlUwCgYIKoZIzj0EAwIw\n' +
  'EzERMA8GA1UEAxMIc3dhcm0tY2EwHhcNMjYxMTI1MjEzODAwWhcNNDYxMTIwMjEz\n' +
  'ODAwWjATMREwDwYDVQQDEwhzd2FybS1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n' +
  'A0IABB5fJqtEr3vA1xlUTYxoFfViwU4LQPRGL92aYKQCArx0QE1wSnrK2/OX563G\n' +
  'xJ71xKx+c0VfA0P4zYNsYXfAXJWjQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNVHRMB\n' +
  'Af8EBTADAQH/MB0GA1UdDgQWBBQ+2MFWheEf0GeOSVmyz8e4woNK0TAKBggqhkjO\n' +
  'PQQDAgNIADBFAiA7yGzgRsqmylukAYEN7uLbhHY3inrnM6MGFyeJ+BjC2AIhAJRg\n' +
  'gqBeagN039M7RMOFrMUvhbwzn8vtlajD4a+sheJs\n' +
  '-----END CERTIFICATE-----\n';

/** The digest part of that cluster's join tokens. */
export const DOCKER_JOIN_TOKEN_DIGEST = '30861335jrqnrkfb2hoxznaf32ccypm79p7v8tlhs2lzc4166r';

export const DOCKER_TLS_INFO_ISSUER_SUBJECT = 'MBMxETAPBgNVBAMTCHN3YXJtLWNh';
export const DOCKER_TLS_INFO_ISSUER_PUBLIC_KEY =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHl8mq0Sve8DXGVRNjGgV9WLBTgtA9EYv3ZpgpAICvHRATXBKesrb85fnrcbEnvXErH5zRV8DQ/jNg2xhd8BclQ==';

/** `swarm init` time of that cluster (its CreatedAt): the root's NotBefore is this, rounded, minus 5 min. */
export const DOCKER_INIT_TIME = new Date('2026-11-25T21:42:58.162Z');
export const DOCKER_ROOT_NOT_BEFORE = new Date('2026-11-25T21:38:00Z');
export const DOCKER_ROOT_NOT_AFTER = new Date('2046-11-20T21:38:00Z');
