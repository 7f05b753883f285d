import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  GiB,
  MiB,
  UnitsError,
  bytesSize,
  formatNanoCPUs,
  fromHumanSize,
  humanSize,
  humanSizeWithPrecision,
  memBytesString,
  parseCPUs,
  ramInBytes,
} from '../../../src/api/units.js';

const attempt = (f: () => number): string => {
  try {
    return String(f());
  } catch (e) {
    assert.ok(e instanceof UnitsError);
    return `ERR ${e.message}`;
  }
};

// [input, result of go-units v0.5 RAMInBytes / FromHumanSize (Go), or "ERR <message>"]
const GO_RAM: [string, string][] = [
  ['512m', '536870912'],
  ['512M', '536870912'],
  ['512mb', '536870912'],
  ['512MiB', '536870912'],
  ['512mib', '536870912'],
  ['512 m', '536870912'],
  ['1.5g', '1610612736'],
  ['1.5GB', '1610612736'],
  ['1.5 GB', '1610612736'],
  ['4k', '4096'],
  ['4KiB', '4096'],
  ['4kb', '4096'],
  ['4kB', '4096'],
  ['0', '0'],
  ['0b', '0'],
  ['10', '10'],
  ['10b', '10'],
  ['10B', '10'],
  ['-1', "ERR invalid size: '-1'"],
  ['-1m', "ERR invalid size: '-1m'"],
  ['1.2.3', 'ERR strconv.ParseFloat: parsing "1.2.3": invalid syntax'],
  ['1..2m', 'ERR strconv.ParseFloat: parsing "1..2": invalid syntax'],
  ['abc', "ERR invalid size: 'abc'"],
  ['', "ERR invalid size: ''"],
  ['m', "ERR invalid size: 'm'"],
  ['1t', '1099511627776'],
  ['1p', '1125899906842624'],
  ['1e', "ERR invalid suffix: 'e'"],
  ['1kbb', "ERR invalid suffix: 'kbb'"],
  ['1kib ', 'ERR strconv.ParseFloat: parsing "1kib": invalid syntax'],
  ['1 kb', '1024'],
  ['1  kb', 'ERR strconv.ParseFloat: parsing "1 ": invalid syntax'],
  [' 1k', 'ERR strconv.ParseFloat: parsing " 1": invalid syntax'],
  ['1e3', '1000'],
  ['1e3k', '1024000'],
  ['.5k', '512'],
  ['5.k', '5120'],
  ['1_000', '1000'],
  ['0x10', 'ERR strconv.ParseFloat: parsing "0x10": invalid syntax'],
  ['0x1p4k', '16384'],
  ['inf', "ERR invalid size: 'inf'"],
  ['Inf', "ERR invalid size: 'Inf'"],
  ['1ki', "ERR invalid suffix: 'ki'"],
  ['1ibk', "ERR invalid suffix: 'ibk'"],
  ['1KIB', '1024'],
  ['123456789.9', '123456789'],
];
const GO_FROM_HUMAN: [string, string][] = [
  ['512m', '512000000'],
  ['512M', '512000000'],
  ['512mb', '512000000'],
  ['512MiB', '512000000'],
  ['512mib', '512000000'],
  ['512 m', '512000000'],
  ['1.5g', '1500000000'],
  ['1.5GB', '1500000000'],
  ['1.5 GB', '1500000000'],
  ['4k', '4000'],
  ['4KiB', '4000'],
  ['4kb', '4000'],
  ['4kB', '4000'],
  ['0', '0'],
  ['0b', '0'],
  ['10', '10'],
  ['10b', '10'],
  ['10B', '10'],
  ['-1', "ERR invalid size: '-1'"],
  ['-1m', "ERR invalid size: '-1m'"],
  ['1.2.3', 'ERR strconv.ParseFloat: parsing "1.2.3": invalid syntax'],
  ['1..2m', 'ERR strconv.ParseFloat: parsing "1..2": invalid syntax'],
  ['abc', "ERR invalid size: 'abc'"],
  ['', "ERR invalid size: ''"],
  ['m', "ERR invalid size: 'm'"],
  ['1t', '1000000000000'],
  ['1p', '1000000000000000'],
  ['1e', "ERR invalid suffix: 'e'"],
  ['1kbb', "ERR invalid suffix: 'kbb'"],
  ['1kib ', 'ERR strconv.ParseFloat: parsing "1kib": invalid syntax'],
  ['1 kb', '1000'],
  ['1  kb', 'ERR strconv.ParseFloat: parsing "1 ": invalid syntax'],
  [' 1k', 'ERR strconv.ParseFloat: parsing " 1": invalid syntax'],
  ['1e3', '1000'],
  ['1e3k', '1000000'],
  ['.5k', '500'],
  ['5.k', '5000'],
  ['1_000', '1000'],
  ['0x10', 'ERR strconv.ParseFloat: parsing "0x10": invalid syntax'],
  ['0x1p4k', '16000'],
  ['inf', "ERR invalid size: 'inf'"],
  ['Inf', "ERR invalid size: 'Inf'"],
  ['1ki', "ERR invalid suffix: 'ki'"],
  ['1ibk', "ERR invalid suffix: 'ibk'"],
  ['1KIB', '1000'],
  ['123456789.9', '123456789'],
];

describe('ramInBytes agrees with go-units RAMInBytes', () => {
  for (const [input, want] of GO_RAM)
    it(JSON.stringify(input), () =>
      assert.equal(
        attempt(() => ramInBytes(input)),
        want,
      ),
    );
});

describe('fromHumanSize agrees with go-units FromHumanSize', () => {
  for (const [input, want] of GO_FROM_HUMAN) {
    it(JSON.stringify(input), () =>
      assert.equal(
        attempt(() => fromHumanSize(input)),
        want,
      ),
    );
  }
});

// [size, HumanSize, BytesSize] from go-units
const GO_SIZES: [number, string, string][] = [
  [0, '0B', '0B'],
  [1, '1B', '1B'],
  [999, '999B', '999B'],
  [1000, '1kB', '1000B'],
  [1023, '1.023kB', '1023B'],
  [1024, '1.024kB', '1KiB'],
  [1536, '1.536kB', '1.5KiB'],
  [1500, '1.5kB', '1.465KiB'],
  [10368, '10.37kB', '10.12KiB'],
  [1048576, '1.049MB', '1MiB'],
  [536870912, '536.9MB', '512MiB'],
  [1610612736, '1.611GB', '1.5GiB'],
  [123456789, '123.5MB', '117.7MiB'],
  [1000000000000000.0, '1PB', '909.5TiB'],
  [1.5e21, '1.5ZB', '1.271ZiB'],
  [2.5e30, '2.5e+06YB', '2.068e+06YiB'],
  [999999, '1000kB', '976.6KiB'],
  [1024000, '1.024MB', '1000KiB'],
  [1048575, '1.049MB', '1024KiB'],
  [1099511627776, '1.1TB', '1TiB'],
  [100.5, '100.5B', '100.5B'],
  [0.5, '0.5B', '0.5B'],
];

describe('humanSize and bytesSize agree with go-units', () => {
  for (const [size, human, bytes] of GO_SIZES) {
    it(`${size}`, () => {
      assert.equal(humanSize(size), human);
      assert.equal(bytesSize(size), bytes);
    });
  }
  it('examples', () => {
    assert.equal(bytesSize(1.5 * GiB), '1.5GiB');
    assert.equal(bytesSize(512 * MiB), '512MiB');
    assert.equal(bytesSize(4096), '4KiB');
    assert.equal(humanSizeWithPrecision(1234567, 2), '1.2MB');
    assert.equal(memBytesString(0), '0');
    assert.equal(memBytesString(512 * MiB), '512MiB');
  });
});

// [input, docker/cli opts.ParseCPUs (Go), or "ERR <message>"]
const GO_CPUS: [string, string][] = [
  ['0.5', '500000000'],
  ['1', '1000000000'],
  ['2', '2000000000'],
  ['0.001', '1000000'],
  ['0.0000000001', 'ERR value is too precise'],
  ['1/4', '250000000'],
  ['1/3', 'ERR value is too precise'],
  ['3/2', '1500000000'],
  ['-1', '-1000000000'],
  ['+1', '1000000000'],
  ['1e-3', '1000000'],
  ['1e3', '1000000000000'],
  ['0.5x', 'ERR failed to parse 0.5x as a rational number'],
  ['', 'ERR failed to parse  as a rational number'],
  ['abc', 'ERR failed to parse abc as a rational number'],
  ['1/0', 'ERR failed to parse 1/0 as a rational number'],
  ['0x10', '16000000000'],
  ['0b101', '5000000000'],
  ['0o17', '15000000000'],
  ['010', '10000000000'],
  ['.5', '500000000'],
  ['5.', '5000000000'],
  ['1.5e1', '15000000000'],
  ['1_000', '1000000000000'],
  ['0x_10', '16000000000'],
  ['2p-1', '1000000000'],
  ['1/-2', 'ERR failed to parse 1/-2 as a rational number'],
  ['-1/2', '-500000000'],
  [' 1', 'ERR failed to parse  1 as a rational number'],
  ['1 ', 'ERR failed to parse 1  as a rational number'],
  ['0x1p-2', '250000000'],
  ['1E2', '100000000000'],
];

describe('parseCPUs agrees with docker/cli ParseCPUs', () => {
  for (const [input, want] of GO_CPUS)
    it(JSON.stringify(input), () =>
      assert.equal(
        attempt(() => parseCPUs(input)),
        want,
      ),
    );
});

// [nano CPUs, NanoCPUs.String() = big.NewRat(n, 1e9).FloatString(3)]
const GO_NANOS: [number, string][] = [
  [0, ''],
  [1, '0.000'],
  [500000000, '0.500'],
  [1000000000, '1.000'],
  [1500000000, '1.500'],
  [250000000, '0.250'],
  [333333333, '0.333'],
  [1234567, '0.001'],
  [1000500000, '1.001'],
  [999999999, '1.000'],
  [-500000000, '-0.500'],
  [1499999, '0.001'],
  [500000, '0.001'],
  [1000000, '0.001'],
];

describe('formatNanoCPUs agrees with NanoCPUs.String', () => {
  for (const [n, want] of GO_NANOS) it(`${n}`, () => assert.equal(formatNanoCPUs(n), want));
});
