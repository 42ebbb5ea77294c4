import { createSimTarget } from '@vmkd/sim-target';
import type { TargetBackend } from '@vmkd/kd-protocol';
import type { SimOptions } from '../uri/transport-uri.js';

const BUILD_NAMES = { win7: 'Windows 7 SP1 x64 (build 7601)', win10: 'Windows 10 x64 (build 19041)' } as const;

/** The embedded virtual kernel with the CLI's options. */
export function createSimBackend(options: SimOptions): TargetBackend {
  return createSimTarget({ build: options.build, memoryBytes: options.memory, cpus: options.cpus });
}

export function describeSim(options: SimOptions): string {
  const mib = options.memory / (1024 * 1024);
  const size = mib >= 1024 && mib % 1024 === 0 ? `${mib / 1024} GiB` : `${mib} MiB`;
  return `virtual ${BUILD_NAMES[options.build]}, ${size}, ${options.cpus} CPU${options.cpus === 1 ? '' : 's'}`;
}
