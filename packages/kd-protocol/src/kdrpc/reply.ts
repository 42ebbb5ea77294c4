import {
  KDRPC_MAX_DATA,
  KDRPC_REPLY_SIGNATURE,
  KDRPC_STATUS_PREFIX,
  KDRPC_TEST_PATTERN_LENGTH,
  KdrpcCommand,
  KdrpcSize,
} from './constants.js';
import { KdrpcErrorCode, badLength, kdrpcError } from './errors.js';
import type { KdrpcCommandName, KdrpcReply } from './types.js';
import { checkU32, readKdContext, readSkb, startsWith, viewOf, writeKdContext, writeSkb } from './wire.js';

const SIG = KDRPC_REPLY_SIGNATURE.length; // 9

/** Encodes a reply as the host logic produces it: signature first, no `"1 "`. */
export function encodeKdrpcReply(reply: KdrpcReply): Uint8Array {
  switch (reply.command) {
    case 'v': {
      const out = new Uint8Array(KdrpcSize.VersionReply);
      out.set(KDRPC_REPLY_SIGNATURE, 0);
      viewOf(out).setUint32(SIG, checkU32('version', reply.version), true);
      return out;
    }
    case 't': {
      if (reply.pattern.length !== KDRPC_TEST_PATTERN_LENGTH) {
        throw badLength('t', 'pattern', KDRPC_TEST_PATTERN_LENGTH, reply.pattern.length);
      }
      const out = new Uint8Array(KdrpcSize.TestReply);
      out.set(KDRPC_REPLY_SIGNATURE, 0);
      out.set(reply.pattern, SIG);
      return out;
    }
    case 'r': {
      const size1 = reply.data1.length;
      const size2 = reply.data2.length;
      const header = reply.pollIterationsToSkip === undefined ? KdrpcSize.ReceiveReplyHeader : KdrpcSize.ReceiveReplyHeaderPollSkip;
      const out = new Uint8Array(header + size1 + size2);
      const view = viewOf(out);
      out.set(KDRPC_REPLY_SIGNATURE, 0);
      out[9] = KdrpcCommand.Receive;
      writeSkb(view, 10, 'buffer1', reply.buffer1);
      writeSkb(view, 14, 'buffer2', reply.buffer2);
      writeKdContext(view, 18, reply.context);
      view.setUint32(24, checkU32('status', reply.status), true);
      view.setUint32(28, checkU32('PayloadBytes', reply.payloadBytes), true);
      view.setUint32(32, size1, true);
      view.setUint32(36, size2, true);
      view.setUint32(40, checkU32('globals', reply.globals), true);
      if (reply.pollIterationsToSkip !== undefined) {
        view.setUint32(44, checkU32('pollIterationsToSkip', reply.pollIterationsToSkip), true);
      }
      out.set(reply.data1, header);
      out.set(reply.data2, header + size1);
      return out;
    }
    case 's': {
      const out = new Uint8Array(KdrpcSize.SendReply);
      const view = viewOf(out);
      out.set(KDRPC_REPLY_SIGNATURE, 0);
      out[9] = KdrpcCommand.Send;
      writeKdContext(view, 10, reply.context);
      view.setUint32(16, checkU32('globals', reply.globals), true);
      return out;
    }
  }
}

export interface DecodeKdrpcReplyOptions {
  /**
   * `'required'`: the reply as the guest sees it, starting with the VMM's `"1 "`; `'absent'` (the
   * default): the host logic's output, starting with the signature.
   */
  readonly statusPrefix?: 'required' | 'absent';
  /** The 0x250 protocol: the `r` reply header has a sixth u32 (48 bytes). */
  readonly pollSkip?: boolean;
}

/**
 * Decodes the reply to a request of command `command`, checking sizes exactly as the guest does
 * (§4.5: 44 + size1 + size2; `v` 13; `t` 521; `s` 20), the signature and the command echo. Data
 * parts are views into `bytes`.
 */
export function decodeKdrpcReply(command: KdrpcCommandName, bytes: Uint8Array, options: DecodeKdrpcReplyOptions = {}): KdrpcReply {
  let reply = bytes;
  if (options.statusPrefix === 'required') {
    if (!startsWith(reply, KDRPC_STATUS_PREFIX)) {
      throw kdrpcError(KdrpcErrorCode.BadStatusPrefix, 'reply does not start with "1 "', { field: 'status prefix' });
    }
    reply = reply.subarray(KDRPC_STATUS_PREFIX.length);
  }
  if (reply.length === 0) throw kdrpcError(KdrpcErrorCode.Empty, `${command}: empty reply (the host rejected the call)`, { command });
  if (!startsWith(reply, KDRPC_REPLY_SIGNATURE)) {
    throw kdrpcError(KdrpcErrorCode.BadSignature, `${command}: reply does not start with "++kdVMvA "`, { field: 'signature', command });
  }
  const view = viewOf(reply);
  switch (command) {
    case 'v':
      if (reply.length !== KdrpcSize.VersionReply) throw badLength('v', 'reply', KdrpcSize.VersionReply, reply.length);
      return { command: 'v', version: view.getUint32(SIG, true) };
    case 't':
      if (reply.length !== KdrpcSize.TestReply) throw badLength('t', 'reply', KdrpcSize.TestReply, reply.length);
      return { command: 't', pattern: reply.subarray(SIG) };
    case 'r': {
      const header = options.pollSkip === true ? KdrpcSize.ReceiveReplyHeaderPollSkip : KdrpcSize.ReceiveReplyHeader;
      if (reply.length < header) throw badLength('r', 'reply', `at least ${header}`, reply.length);
      checkEcho('r', reply[9], KdrpcCommand.Receive);
      const size1 = view.getUint32(32, true);
      const size2 = view.getUint32(36, true);
      if (size1 > KDRPC_MAX_DATA || size2 > KDRPC_MAX_DATA) {
        const field = size1 > KDRPC_MAX_DATA ? 'size1' : 'size2';
        throw kdrpcError(KdrpcErrorCode.BadSize, `r: ${field} exceeds ${KDRPC_MAX_DATA}`, {
          field,
          value: field === 'size1' ? size1 : size2,
          limit: KDRPC_MAX_DATA,
        });
      }
      const expected = header + size1 + size2;
      if (reply.length !== expected) throw badLength('r', `reply (${header} + size1 + size2)`, expected, reply.length);
      return {
        command: 'r',
        buffer1: readSkb(view, 10),
        buffer2: readSkb(view, 14),
        context: readKdContext(view, 18),
        status: view.getUint32(24, true),
        payloadBytes: view.getUint32(28, true),
        globals: view.getUint32(40, true),
        data1: reply.subarray(header, header + size1),
        data2: reply.subarray(header + size1, expected),
        ...(options.pollSkip === true ? { pollIterationsToSkip: view.getUint32(44, true) } : {}),
      };
    }
    case 's':
      if (reply.length !== KdrpcSize.SendReply) throw badLength('s', 'reply', KdrpcSize.SendReply, reply.length);
      checkEcho('s', reply[9], KdrpcCommand.Send);
      return { command: 's', context: readKdContext(view, 10), globals: view.getUint32(16, true) };
  }
}

function checkEcho(command: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw kdrpcError(KdrpcErrorCode.BadEcho, `${command}: reply echoes 0x${actual.toString(16)}, expected 0x${expected.toString(16)}`, {
      field: 'echo',
      expected,
      actual,
    });
  }
}

/** `"1 " + reply`: what the guest receives from a VMM on success. */
export function withKdrpcStatusPrefix(reply: Uint8Array): Uint8Array {
  const out = new Uint8Array(KDRPC_STATUS_PREFIX.length + reply.length);
  out.set(KDRPC_STATUS_PREFIX, 0);
  out.set(reply, KDRPC_STATUS_PREFIX.length);
  return out;
}
