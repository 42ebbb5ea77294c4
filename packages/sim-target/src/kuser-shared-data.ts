import type { BuildProfile } from './builds.js';
import type { KernelWriter } from './kernel-writer.js';

/**
 * KUSER_SHARED_DATA (x64: kernel 0xFFFFF780'00000000, user 0x7FFE0000): the page every Windows
 * kernel keeps the time and its version in. Offsets from the public type information of the
 * kernels simulated; NtBuildNumber (+0x260) and NativeProcessorArchitecture (+0x26A) exist from
 * Windows 10 on (Windows 7 keeps reserved fields there).
 */
export const KuserOffset = {
  TickCountMultiplier: 0x004,
  InterruptTime: 0x008,
  SystemTime: 0x014,
  TimeZoneBias: 0x020,
  ImageNumberLow: 0x02c,
  ImageNumberHigh: 0x02e,
  NtSystemRoot: 0x030,
  NtBuildNumber: 0x260,
  NtProductType: 0x264,
  ProductTypeIsValid: 0x268,
  NativeProcessorArchitecture: 0x26a,
  NtMajorVersion: 0x26c,
  NtMinorVersion: 0x270,
  KdDebuggerEnabled: 0x2d4,
  TickCount: 0x320,
  ActiveProcessorCount: 0x3c0,
} as const;

/** 100 ns intervals between 1601-01-01 and 1970-01-01 (FILETIME epoch). */
const FILETIME_UNIX_EPOCH = 116444736000000000n;
/** The clock interrupt of x64 Windows: 15.625 ms, 64 ticks a second. */
export const TICK_MS = 15.625;

export function writeKuserSharedData(w: KernelWriter, at: bigint, profile: BuildProfile, cpus: number): void {
  w.u32(at + BigInt(KuserOffset.TickCountMultiplier), 0x0fa00000);
  w.u16(at + BigInt(KuserOffset.ImageNumberLow), 0x8664);
  w.u16(at + BigInt(KuserOffset.ImageNumberHigh), 0x8664);
  w.utf16(at + BigInt(KuserOffset.NtSystemRoot), 'C:\\Windows');
  if (profile.osMajor >= 10) {
    w.u32(at + BigInt(KuserOffset.NtBuildNumber), profile.buildNumber);
    w.u16(at + BigInt(KuserOffset.NativeProcessorArchitecture), 9); // PROCESSOR_ARCHITECTURE_AMD64
  }
  w.u32(at + BigInt(KuserOffset.NtProductType), 1); // NtProductWinNt
  w.u8(at + BigInt(KuserOffset.ProductTypeIsValid), 1);
  w.u32(at + BigInt(KuserOffset.NtMajorVersion), profile.osMajor);
  w.u32(at + BigInt(KuserOffset.NtMinorVersion), profile.osMinor);
  w.u8(at + BigInt(KuserOffset.KdDebuggerEnabled), 3); // enabled, and a debugger is present
  w.u32(at + BigInt(KuserOffset.ActiveProcessorCount), cpus);
}

/**
 * Advances the three clocks the way the clock interrupt does: InterruptTime (100 ns since boot),
 * SystemTime (100 ns since 1601, wall time at boot plus that) and TickCount (clock ticks).
 * KSYSTEM_TIME is written High2Time, LowPart, High1Time, the order readers rely on.
 */
export function updateKuserTime(w: KernelWriter, at: bigint, bootUnixMs: number, sinceBootMs: number): void {
  const interrupt = BigInt(Math.floor(sinceBootMs * 10_000));
  const system = FILETIME_UNIX_EPOCH + BigInt(Math.floor(bootUnixMs)) * 10_000n + interrupt;
  const ticks = BigInt(Math.floor(sinceBootMs / TICK_MS));
  const put = (offset: number, value: bigint): void => {
    const high = Number((value >> 32n) & 0xffffffffn);
    w.u32(at + BigInt(offset + 8), high);
    w.u32(at + BigInt(offset), Number(value & 0xffffffffn));
    w.u32(at + BigInt(offset + 4), high);
  };
  put(KuserOffset.InterruptTime, interrupt);
  put(KuserOffset.SystemTime, system);
  put(KuserOffset.TickCount, ticks);
}
