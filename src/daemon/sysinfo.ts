// Facts about the host for `/info` and `/version`.

import { readFileSync } from 'node:fs';
import { cpus, hostname, machine, release, totalmem } from 'node:os';

function osRelease(): { name: string; version: string } {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const field = (key: string): string => new RegExp(`^${key}="?([^"\\n]*)"?`, 'm').exec(text)?.[1] ?? '';
    return { name: field('PRETTY_NAME') || 'Linux', version: field('VERSION_ID') };
  } catch {
    return { name: 'Linux', version: '' };
  }
}

export interface HostFacts {
  hostname: string;
  ncpu: number;
  memTotal: number;
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  architecture: string;
}

export function hostFacts(): HostFacts {
  const os = osRelease();
  return {
    hostname: hostname(),
    ncpu: cpus().length,
    memTotal: totalmem(),
    kernelVersion: release(),
    operatingSystem: os.name,
    osVersion: os.version,
    architecture: machine(),
  };
}
