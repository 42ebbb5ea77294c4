/**
 * VirtualKD's KDRPC ("protocol version A") constants: virtualkd-kdrpc spec §4.
 * All integers little-endian; structures packed to 2 bytes.
 */

/** The GuestRPC command name the VMX dispatches on (7 bytes, no trailing space). */
export const KDRPC_COMMAND_NAME = '~kdVMvA';

/** Request prefix as the guest sends it: the command name plus one space (8 bytes). */
export const KDRPC_REQUEST_PREFIX: Uint8Array = new TextEncoder().encode('~kdVMvA ');

/** First 9 bytes of every reply the host logic produces. */
export const KDRPC_REPLY_SIGNATURE: Uint8Array = new TextEncoder().encode('++kdVMvA ');

/** What the VMM (not the KDRPC host logic) puts in front of a successful reply. */
export const KDRPC_STATUS_PREFIX: Uint8Array = new TextEncoder().encode('1 ');

/** Command bytes (offset 0 of a request body). */
export const KdrpcCommand = {
  Version: 0x76, // 'v'
  Test: 0x74, // 't'
  Receive: 0x72, // 'r'
  Send: 0x73, // 's'
} as const;
export type KdrpcCommandByte = (typeof KdrpcCommand)[keyof typeof KdrpcCommand];

/** `KD_RECV_CODE` as `KdReceivePacket` returns it. */
export const KdRecvCode = {
  Ok: 0,
  Timeout: 1,
  /** A resend or resync happened: the kernel re-sends its state change. */
  Failed: 2,
} as const;

/** Bits of the `globals` word (§4.7). */
export const KdrpcGlobals = {
  /** `KD_DEBUGGER_NOT_PRESENT`, both directions. */
  DebuggerNotPresent: 0x01,
  /** Host → guest in `s` replies: the host gave up waiting for the debugger; repeat the call. */
  RetrySend: 0x02,
  /** Bits 8–15 carry the `KdDebuggerEnabled` byte. */
  DebuggerEnabledPresent: 0x04,
} as const;

/** The `globals` word for the given flags. */
export function kdrpcGlobals(options: { debuggerPresent: boolean; kdDebuggerEnabled: number; retry?: boolean }): number {
  return (
    ((options.debuggerPresent ? 0 : KdrpcGlobals.DebuggerNotPresent) |
      (options.retry === true ? KdrpcGlobals.RetrySend : 0) |
      KdrpcGlobals.DebuggerEnabledPresent |
      ((options.kdDebuggerEnabled & 0xff) << 8)) >>>
    0
  );
}

/** Protocol versions (§4.8). */
export const KdrpcVersion = {
  Original: 0x101,
  /** Experimental: the `r` reply carries a sixth u32 ("poll iterations to skip"); header 48 bytes. */
  PollSkip: 0x250,
  /** VirtualKD-Redux 2020.2, the version nokd pins. */
  Redux2020_2: 0x07e40002,
  /** The minimum guest version a current Redux host accepts (2021.0). */
  Redux2021_0: 0x07e50000,
  /** VirtualKD-Redux 2024.3: what a host must report to serve current Redux guests. */
  Redux2024_3: 0x07e80003,
} as const;

/** Bytes of the `t` test pattern (after the command byte, and after the reply signature). */
export const KDRPC_TEST_PATTERN_LENGTH = 512;

/** Fixed sizes of the four commands (§4.3–§4.6, §10.5). */
export const KdrpcSize = {
  VersionRequest: 5,
  VersionReply: 13,
  TestRequest: 1 + KDRPC_TEST_PATTERN_LENGTH,
  TestReply: 9 + KDRPC_TEST_PATTERN_LENGTH,
  ReceiveRequest: 23,
  /** `r` reply header before the data (48 with the 0x250 poll-skip field). */
  ReceiveReplyHeader: 44,
  ReceiveReplyHeaderPollSkip: 48,
  SendRequestHeader: 31,
  SendReply: 20,
  /** `SendableKdBuffer`: u16 Length, u16 MaxLength. */
  Skb: 4,
  /** `KD_CONTEXT`: u32 RetryCount, u8 BreakInRequested, u8 pad. */
  KdContext: 6,
} as const;

/**
 * Largest data a KDRPC body may carry in its buffers. KD packets are at most 4000 bytes, but the
 * guest's static request buffer is 132,096 bytes (§4.10); anything larger is refused before use.
 */
export const KDRPC_MAX_DATA = 128 * 1024;
