import { KDRPC_MAX_DATA, KDRPC_REQUEST_PREFIX, KDRPC_TEST_PATTERN_LENGTH, KdrpcCommand, KdrpcSize } from './constants.js';
import { KdrpcErrorCode, badLength, kdrpcError } from './errors.js';
import { kdrpcTestPattern } from './test-pattern.js';
import type { KdrpcRequest } from './types.js';
import { checkU32, readKdContext, readSkb, startsWith, viewOf, writeKdContext, writeSkb } from './wire.js';

/**
 * Encodes a request body (starting at the command byte, without the `"~kdVMvA "` prefix: that is
 * what the VMX hands its handler and what the proxy pipe carries).
 */
export function encodeKdrpcRequest(request: KdrpcRequest): Uint8Array {
  switch (request.command) {
    case 'v': {
      const out = new Uint8Array(KdrpcSize.VersionRequest);
      out[0] = KdrpcCommand.Version;
      viewOf(out).setUint32(1, checkU32('version', request.version), true);
      return out;
    }
    case 't': {
      if (request.pattern.length !== KDRPC_TEST_PATTERN_LENGTH) {
        throw badLength('t', 'pattern', KDRPC_TEST_PATTERN_LENGTH, request.pattern.length);
      }
      const out = new Uint8Array(KdrpcSize.TestRequest);
      out[0] = KdrpcCommand.Test;
      out.set(request.pattern, 1);
      return out;
    }
    case 'r': {
      const out = new Uint8Array(KdrpcSize.ReceiveRequest);
      const view = viewOf(out);
      out[0] = KdrpcCommand.Receive;
      view.setUint32(1, checkU32('PacketType', request.packetType), true);
      view.setUint32(5, checkU32('globals', request.globals), true);
      writeSkb(view, 9, 'buffer1', request.buffer1);
      writeSkb(view, 13, 'buffer2', request.buffer2);
      writeKdContext(view, 17, request.context);
      return out;
    }
    case 's': {
      const size1 = request.data1.length;
      const size2 = request.data2.length;
      if (size1 + size2 > KDRPC_MAX_DATA) {
        throw kdrpcError(KdrpcErrorCode.BadSize, `s: ${size1 + size2} data bytes exceed ${KDRPC_MAX_DATA}`, {
          field: 'size1+size2',
          value: size1 + size2,
          limit: KDRPC_MAX_DATA,
        });
      }
      const out = new Uint8Array(KdrpcSize.SendRequestHeader + size1 + size2);
      const view = viewOf(out);
      out[0] = KdrpcCommand.Send;
      writeSkb(view, 1, 'buffer1', request.buffer1);
      writeSkb(view, 5, 'buffer2', request.buffer2);
      writeKdContext(view, 9, request.context);
      view.setUint32(15, checkU32('PacketType', request.packetType), true);
      view.setUint32(19, size1, true);
      view.setUint32(23, size2, true);
      view.setUint32(27, checkU32('globals', request.globals), true);
      out.set(request.data1, 31);
      out.set(request.data2, 31 + size1);
      return out;
    }
  }
}

/**
 * Decodes a request body. Every malformed body throws a `VmkdError` (`ERR_KDRPC_…`) that names the
 * field; the host answers those with an empty reply (§4.9). Data parts are views into `body`.
 */
export function decodeKdrpcRequest(body: Uint8Array): KdrpcRequest {
  if (body.length === 0) throw kdrpcError(KdrpcErrorCode.Empty, 'empty request body');
  const view = viewOf(body);
  const command = body[0];
  switch (command) {
    case KdrpcCommand.Version:
      if (body.length !== KdrpcSize.VersionRequest) throw badLength('v', 'body', KdrpcSize.VersionRequest, body.length);
      return { command: 'v', version: view.getUint32(1, true) };
    case KdrpcCommand.Test:
      if (body.length !== KdrpcSize.TestRequest) throw badLength('t', 'body', KdrpcSize.TestRequest, body.length);
      return { command: 't', pattern: body.subarray(1) };
    case KdrpcCommand.Receive:
      if (body.length !== KdrpcSize.ReceiveRequest) throw badLength('r', 'body', KdrpcSize.ReceiveRequest, body.length);
      return {
        command: 'r',
        packetType: view.getUint32(1, true),
        globals: view.getUint32(5, true),
        buffer1: readSkb(view, 9),
        buffer2: readSkb(view, 13),
        context: readKdContext(view, 17),
      };
    case KdrpcCommand.Send: {
      if (body.length < KdrpcSize.SendRequestHeader) {
        throw badLength('s', 'body', `at least ${KdrpcSize.SendRequestHeader}`, body.length);
      }
      const size1 = view.getUint32(19, true);
      const size2 = view.getUint32(23, true);
      // Check each size before adding, so a huge value cannot wrap or allocate.
      if (size1 > KDRPC_MAX_DATA || size2 > KDRPC_MAX_DATA) {
        const field = size1 > KDRPC_MAX_DATA ? 'size1' : 'size2';
        throw kdrpcError(KdrpcErrorCode.BadSize, `s: ${field} exceeds ${KDRPC_MAX_DATA}`, {
          field,
          value: field === 'size1' ? size1 : size2,
          limit: KDRPC_MAX_DATA,
        });
      }
      const expected = KdrpcSize.SendRequestHeader + size1 + size2;
      if (body.length !== expected) throw badLength('s', 'body (31 + size1 + size2)', expected, body.length);
      return {
        command: 's',
        buffer1: readSkb(view, 1),
        buffer2: readSkb(view, 5),
        context: readKdContext(view, 9),
        packetType: view.getUint32(15, true),
        globals: view.getUint32(27, true),
        data1: body.subarray(31, 31 + size1),
        data2: body.subarray(31 + size1, expected),
      };
    }
    default:
      throw kdrpcError(KdrpcErrorCode.UnknownCommand, `unknown command byte 0x${command.toString(16).padStart(2, '0')}`, {
        field: 'command',
        command,
      });
  }
}

/** `"~kdVMvA " + body`: the complete GuestRPC request text as the guest sends it. */
export function withKdrpcPrefix(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(KDRPC_REQUEST_PREFIX.length + body.length);
  out.set(KDRPC_REQUEST_PREFIX, 0);
  out.set(body, KDRPC_REQUEST_PREFIX.length);
  return out;
}

/** Strips and checks the `"~kdVMvA "` prefix (what the VirtualBox device does). */
export function stripKdrpcPrefix(message: Uint8Array): Uint8Array {
  if (!startsWith(message, KDRPC_REQUEST_PREFIX)) {
    throw kdrpcError(KdrpcErrorCode.BadPrefix, 'request does not start with "~kdVMvA "', { field: 'prefix' });
  }
  return message.subarray(KDRPC_REQUEST_PREFIX.length);
}

/** The `t` request the guest sends: byte i = i & 0xFF. */
export function kdrpcTestRequest(): KdrpcRequest {
  return { command: 't', pattern: kdrpcTestPattern('request') };
}
