import type { PacketLink } from '@vmkd/kd-protocol';

/** A guest transport with the virtual kernel behind it, as the debugger side sees it. */
export interface OpenedGuest {
  /** The target-facing link the debugger (or the router) talks to. */
  readonly link: PacketLink;
  /** The simulated kernel's data region: formula content, safe to read and verify. */
  readonly dataBase: bigint;
  readonly dataSize: bigint;
  /** A child process that is part of the guest (native stubs under the harness), for CPU and RSS. */
  readonly childPid?: number;
  /** Bytes on the guest transport's wire so far (KDCOM frames, KDRPC request and reply bodies). */
  wireBytes(): number;
  close(): Promise<void>;
}

/** `wireBytes` for a guest whose wire is one link: everything its statistics count both ways. */
export function linkWireBytes(link: PacketLink): () => number {
  return () => {
    const s = link.stats();
    return s.bytesIn + s.bytesOut;
  };
}

/** How vmkd's debugger reaches an opened guest. */
export interface OpenedDebugger {
  /** The target-facing link a DebuggerSession runs on. */
  readonly link: PacketLink;
  close(): Promise<void>;
}

/** Runs cleanups in reverse order, never throwing (a benchmark tears down what it can). */
export async function closeAll(cleanups: readonly (() => unknown)[]): Promise<void> {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      await cleanup();
    } catch {
      /* already gone */
    }
  }
}
