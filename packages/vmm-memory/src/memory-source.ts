import type { PhysicalLayout } from './physical-layout.js';

/**
 * Guest RAM as the hypervisor exposes it to the host, read-only. Reads are positioned (no shared
 * cursor), so any number may be in flight. A source never writes: writes always go to the guest
 * through KD, which keeps one owner for guest state.
 */
export interface MemorySource {
  /** What it reads, for notices (`file:/dev/shm/vm.ram`, `qemu:/run/vm.qmp (pid 1234)`). */
  readonly description: string;
  readonly layout: PhysicalLayout;
  /**
   * Copies guest-physical `[pa, pa + into.length)` into `into`. Returns how many bytes were
   * copied: fewer than asked when the range leaves RAM (a hole, the end of memory); 0 when pa
   * itself is not RAM. Throws ERR_VMM_SOURCE_IO when the backing store fails or is short.
   */
  readPhysicalInto(pa: bigint, into: Uint8Array): Promise<number>;
  stats(): MemorySourceStats;
  close(): Promise<void>;
}

export interface MemorySourceStats {
  readonly reads: number;
  readonly bytes: number;
}
