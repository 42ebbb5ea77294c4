/** `SendableKdBuffer`: a `KD_BUFFER` without its pointer. `maxLength === 0` means "no buffer". */
export interface SendableKdBuffer {
  readonly length: number;
  readonly maxLength: number;
}

/** `KD_CONTEXT` as it travels (6 bytes, one pad byte). */
export interface KdContext {
  readonly retryCount: number;
  readonly breakInRequested: boolean;
}

/** A decoded KDRPC request body (the bytes after `"~kdVMvA "`). */
export type KdrpcRequest =
  | { readonly command: 'v'; readonly version: number }
  /** `pattern` is the 512 bytes after the command byte. */
  | { readonly command: 't'; readonly pattern: Uint8Array }
  | {
      readonly command: 'r';
      readonly packetType: number;
      readonly globals: number;
      readonly buffer1: SendableKdBuffer;
      readonly buffer2: SendableKdBuffer;
      readonly context: KdContext;
    }
  | {
      readonly command: 's';
      readonly packetType: number;
      readonly globals: number;
      readonly buffer1: SendableKdBuffer;
      readonly buffer2: SendableKdBuffer;
      readonly context: KdContext;
      /** Buffer-1 bytes (size1 = data1.length). */
      readonly data1: Uint8Array;
      /** Buffer-2 bytes (size2 = data2.length). */
      readonly data2: Uint8Array;
    };

/** A decoded KDRPC reply (what the host logic produces, starting with the signature). */
export type KdrpcReply =
  | { readonly command: 'v'; readonly version: number }
  | { readonly command: 't'; readonly pattern: Uint8Array }
  | {
      readonly command: 'r';
      readonly buffer1: SendableKdBuffer;
      readonly buffer2: SendableKdBuffer;
      readonly context: KdContext;
      /** `KD_RECV_CODE`. */
      readonly status: number;
      readonly payloadBytes: number;
      readonly globals: number;
      readonly data1: Uint8Array;
      readonly data2: Uint8Array;
      /** Only in the experimental 0x250 protocol (48-byte header). */
      readonly pollIterationsToSkip?: number;
    }
  | { readonly command: 's'; readonly context: KdContext; readonly globals: number };

export type KdrpcCommandName = KdrpcRequest['command'];

export const EMPTY_SKB: SendableKdBuffer = { length: 0, maxLength: 0 };
export const EMPTY_KD_CONTEXT: KdContext = { retryCount: 0, breakInRequested: false };
