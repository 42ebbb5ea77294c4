/**
 * The one thing the kernel walks need from a debugger: `length` bytes of kernel virtual memory at
 * `address`, all of them, or undefined when they cannot all be read. A reader may also throw (a
 * caller that wants a short read to be an error says so in its reader); the walks never catch.
 * Injected, so the walks are pure logic over whatever reads memory: a DebuggerSession over any
 * link, a dump file, a test's byte array.
 */
export type KernelMemoryReader = (address: bigint, length: number) => Promise<Uint8Array | undefined>;

/** The part of a `DebuggerSession` a reader needs (ReadVirtualMemory, spec 2.2). */
export interface VirtualMemorySource {
  readVirtual(address: bigint, length: number): Promise<{ readonly data: Uint8Array; readonly bytesRead: number; readonly status: number }>;
}

/** A reader over a session's ReadVirtualMemory: a short read is undefined. */
export function sessionMemoryReader(session: VirtualMemorySource): KernelMemoryReader {
  return async (address, length) => {
    const r = await session.readVirtual(address, length);
    return r.bytesRead === length ? r.data.subarray(0, length) : undefined;
  };
}
