import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import type { MachineInfo } from './result-types.js';

export function describeMachine(loadAtStart: number): MachineInfo {
  const list = cpus();
  return {
    cpus: availableParallelism(),
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    totalMemoryBytes: totalmem(),
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
  };
}

export function currentLoad(): number {
  return loadavg()[0] ?? 0;
}
