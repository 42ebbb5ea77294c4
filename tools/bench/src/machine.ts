import { cpus, totalmem } from 'node:os';
import { availableParallelism } from 'node:os';
import type { MachineInfo } from './result-types.js';

export function describeMachine(): MachineInfo {
  const list = cpus();
  return {
    cpus: availableParallelism(),
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    totalMemoryBytes: totalmem(),
  };
}
