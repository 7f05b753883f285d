// Facts about the host for `/info` and `/version`.

import { readFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';

function osRelease(): { name: string; version: string } {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const field = (key: string): string => new RegExp(`^${key}="?([^"\\n]*)"?`, 'm').exec(text)?.[1] ?? '';
    return { name: field('PRETTY_NAME') || 'Linux', version: field('VERSION_ID') };
  } catch {
    return { name: 'Linux', version: '' };
  }
}

/** `uname -m` naming, which Docker shows as Architecture. */
export function machineArchitecture(): string {
  switch (process.arch) {
    case 'x64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    case 'ia32':
      return 'i686';
    default:
      return process.arch;
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
    architecture: machineArchitecture(),
  };
}
