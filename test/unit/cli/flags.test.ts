import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, FlagSet, wrap, type Flag } from '../../../src/cli/flags.js';
import { listFlag } from '../../../src/cli/opts/lists.js';
import { parseMount, parsePort, parseNodeAddr, shlexSplit, parseCIDR } from '../../../src/cli/opts/values.js';
import { parseIntBig, parseUint, formatFloat32 } from '../../../src/api/strconv.js';

function flags(): { fs: FlagSet; q: Flag<boolean>; n: Flag<string>; l: Flag<string[]> } {
  const fs = new FlagSet();
  const q = fs.bool('quiet', 'q', 'quiet');
  const n = fs.string('name', 'n', 'name');
  const l = fs.add('label', listFlag('l', 'labels'));
  return { fs, q, n, l };
}

test('pflag forms: --x v, --x=v, -xv, -x=v, grouped booleans, --bool=false', () => {
  const { fs, q, n, l } = flags();
  const args = fs.parse(['a', '--name', 'one', '-qlx=1', '-l', 'y', '--label=z', 'b', '--quiet=false']);
  assert.deepEqual(args, ['a', 'b']);
  assert.equal(n.value, 'one');
  assert.equal(q.value, false);
  assert.equal(q.changed, true);
  assert.deepEqual(l.value, ['x=1', 'y', 'z']);
});

test('a flag that takes a value takes the next argument whatever it looks like', () => {
  const { fs, n } = flags();
  fs.parse(['--name', '-1']);
  assert.equal(n.value, '-1');
});

test('-- ends the flags; non-interspersed sets stop at the first argument', () => {
  const a = flags();
  assert.deepEqual(a.fs.parse(['--', '-q']), ['-q']);
  const b = flags();
  b.fs.interspersed = false;
  assert.deepEqual(b.fs.parse(['-q', 'img', '--name', 'x']), ['img', '--name', 'x']);
  assert.equal(b.n.value, '');
});

test("pflag's error texts", () => {
  const bad = (args: string[], message: string): void => {
    assert.throws(
      () => flags().fs.parse(args),
      (e: unknown) => e instanceof FlagError && e.message === message,
    );
  };
  bad(['--bogus'], 'unknown flag: --bogus');
  bad(['-qz'], "unknown shorthand flag: 'z' in -z");
  bad(['--name'], 'flag needs an argument: --name');
  bad(['-n'], "flag needs an argument: 'n' in -n");
  bad(
    ['--quiet=maybe'],
    'invalid argument "maybe" for "-q, --quiet" flag: strconv.ParseBool: parsing "maybe": invalid syntax',
  );
  bad(['---x'], 'bad flag syntax: ---x');
});

test('usages(): aligned, sorted, defaults shown unless zero, wrapped like pflag', () => {
  const fs = new FlagSet();
  fs.duration(
    'cert-expiry',
    undefined,
    'Validity period for node certificates (ns|us|ms|s|m|h)',
    90 * 24 * 3600e9,
  );
  fs.bool('autolock', undefined, 'Change manager autolocking setting (true|false)');
  fs.uint('snapshot-interval', undefined, 'Number of log entries between Raft snapshots', 10000);
  fs.string('mode', 'm', 'Service mode', 'replicated');
  assert.equal(
    fs.usages(79),
    '      --autolock                 Change manager autolocking setting\n' +
      '                                 (true|false)\n' +
      '      --cert-expiry duration     Validity period for node certificates\n' +
      '                                 (ns|us|ms|s|m|h) (default 2160h0m0s)\n' +
      '  -m, --mode string              Service mode (default "replicated")\n' +
      '      --snapshot-interval uint   Number of log entries between Raft\n' +
      '                                 snapshots (default 10000)\n',
  );
  assert.equal(wrap(0, 0, 'a\nb'), 'a\nb');
});

test("Go's number parsing for flag values", () => {
  assert.equal(parseUint('0x10'), 16);
  assert.equal(parseUint('010'), 8);
  assert.throws(() => parseUint('-1'), /strconv.ParseUint: parsing "-1": invalid syntax/);
  assert.throws(() => parseUint('70000', 10, 16), /value out of range/);
  assert.equal(parseIntBig('-0b11'), -3n);
  assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
  assert.equal(formatFloat32(0.25), '0.25');
  assert.equal(formatFloat32(1e-5), '1e-05');
});

test('--publish, --mount, --listen-addr, --default-addr-pool and shell words, as docker/cli reads them', () => {
  assert.deepEqual(parsePort('8080:80'), [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
  ]);
  assert.deepEqual(parsePort('80'), [
    { Protocol: 'tcp', TargetPort: 80, PublishedPort: 0, PublishMode: 'ingress' },
  ]);
  assert.deepEqual(parsePort('53:53/udp'), [
    { Protocol: 'udp', TargetPort: 53, PublishedPort: 53, PublishMode: 'ingress' },
  ]);
  assert.deepEqual(parsePort('published=9090,target=90,mode=host'), [
    { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'host' },
  ]);
  assert.equal(parsePort('80-81:90-91').length, 2);
  assert.throws(() => parsePort('8080:'), /no port specified: 8080:<empty>/);
  assert.deepEqual(parseMount('type=bind,src=/tmp,dst=/x,readonly'), {
    Type: 'bind',
    Source: '/tmp',
    Target: '/x',
    ReadOnly: true,
  });
  assert.deepEqual(parseMount('type=volume,source=v,target=/d,volume-label=a=b,volume-nocopy'), {
    Type: 'volume',
    Source: 'v',
    Target: '/d',
    VolumeOptions: { Labels: { a: 'b' }, DriverConfig: {}, NoCopy: true },
  });
  assert.throws(() => parseMount('x'), /invalid field 'x' must be a key=value pair/);
  assert.throws(
    () => parseMount('type=tmpfs,target=/x,volume-nocopy'),
    /cannot mix 'volume-\*' options with mount type 'tmpfs'/,
  );
  assert.equal(parseNodeAddr('198.18.0.1'), '198.18.0.1:2377');
  assert.equal(parseNodeAddr('eth0:4000'), 'eth0:4000');
  assert.equal(parseNodeAddr(':3000'), '0.0.0.0:3000');
  assert.equal(parseCIDR('10.20.1.7/16'), '10.20.0.0/16');
  assert.throws(() => parseCIDR('10.0.0.0/33'), /invalid CIDR address: 10.0.0.0\/33/);
  assert.deepEqual(shlexSplit(`sh -c 'echo "hi there"' x\\ y`), ['sh', '-c', 'echo "hi there"', 'x y']);
  assert.throws(() => shlexSplit('a "b'), /EOF found when expecting closing quote/);
});
