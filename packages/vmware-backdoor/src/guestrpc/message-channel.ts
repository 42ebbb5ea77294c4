import {
  BDOOR_MAGIC,
  BDOOR_PORT,
  BDOORHB_CMD_MESSAGE,
  BDOORHB_PORT,
  GUESTMSG_FLAG_COOKIE,
  HYPERCALL_FLAG_HB,
  HYPERCALL_FLAG_WRITE,
  MessageStatus,
  MessageType,
  RPCI_PROTOCOL,
  TCLO_PROTOCOL,
  messageEcx,
} from '../abi.js';
import type { BackdoorPort, BackdoorRegs } from '../backdoor-port.js';
import { GuestRpcErrorCode, guestRpcError } from './errors.js';

export interface MessageChannelOptions {
  /** Default `'rpci'`. */
  readonly protocol?: 'rpci' | 'tclo';
  /** Use the VMCALL/VMMCALL register form: DX low half carries flags (0, HB, HB|WRITE) instead of ports. */
  readonly hypercall?: boolean;
  /** Never use the high-bandwidth path, even when the VMX offers it. */
  readonly lowBandwidthOnly?: boolean;
  /** How many checkpoint restarts one send or receive may take. Default 8. */
  readonly maxCheckpointRetries?: number;
  /** Longest reply accepted; longer ones are refused with RECVSTATUS 0. Default 1 MiB. */
  readonly maxReplyLength?: number;
}

/** One guest-side GuestRPC channel (vmware-backdoor spec §4.4). */
export interface MessageChannel {
  readonly id: number;
  /** False when the VMX refused cookies and the channel was opened without them. */
  readonly cookies: boolean;
  readonly isOpen: boolean;
  /** Sends one message: SENDSIZE, then one HB send or ⌈n/4⌉ SENDPAYLOAD calls; restarts on CPT. */
  send(data: Uint8Array): Promise<void>;
  /** Receives one message, or null when the VMX has none (no DORECV); restarts on CPT. */
  receive(): Promise<Uint8Array | null>;
  /** CLOSE; its result is ignored. Idempotent. */
  close(): Promise<void>;
}

const GONE = MessageStatus.Closed | MessageStatus.Timeout | MessageStatus.PowerOff;
const HB_MESSAGE_EBX = ((MessageStatus.Success << 16) | BDOORHB_CMD_MESSAGE) >>> 0;

/** Why one step failed: restart the transaction (CPT), or give up. */
class Restart extends Error {
  constructor(readonly step: string) {
    super(`checkpoint during ${step}`);
  }
}

/**
 * Opens a channel: OPEN with the cookie flag, and once more without it if the VMX refuses
 * (very old hosts have no cookies).
 */
export async function openMessageChannel(port: BackdoorPort, options: MessageChannelOptions = {}): Promise<MessageChannel> {
  const protocol = options.protocol === 'tclo' ? TCLO_PROTOCOL : RPCI_PROTOCOL;
  const lbPort = options.hypercall === true ? 0 : BDOOR_PORT;
  const hbOutPort = options.hypercall === true ? HYPERCALL_FLAG_HB | HYPERCALL_FLAG_WRITE : BDOORHB_PORT;
  const hbInPort = options.hypercall === true ? HYPERCALL_FLAG_HB : BDOORHB_PORT;
  const maxRetries = options.maxCheckpointRetries ?? 8;
  const maxReply = options.maxReplyLength ?? 1024 * 1024;
  const lbOnly = options.lowBandwidthOnly === true;

  let opened: BackdoorRegs | undefined;
  let cookies = true;
  for (let attempt = 0; attempt <= maxRetries && opened === undefined; attempt++) {
    for (const flag of [GUESTMSG_FLAG_COOKIE, 0]) {
      const out = await port.call({ eax: BDOOR_MAGIC, ebx: (protocol | flag) >>> 0, ecx: messageEcx(MessageType.Open), edx: lbPort, esi: 0, edi: 0 });
      const status = out.ecx >>> 16;
      if ((status & MessageStatus.Success) !== 0) {
        opened = out;
        cookies = flag !== 0;
        break;
      }
      if ((status & MessageStatus.Checkpoint) !== 0) break; // retry the whole open
    }
  }
  if (opened === undefined) {
    throw guestRpcError(GuestRpcErrorCode.OpenFailed, 'the VMX refused to open a channel', { protocol: options.protocol ?? 'rpci' });
  }

  const id = opened.edx >>> 16;
  const cookieHigh = cookies ? opened.esi >>> 0 : 0;
  const cookieLow = cookies ? opened.edi >>> 0 : 0;
  const edxLb = ((id << 16) | lbPort) >>> 0;
  let isOpen = true;

  function lbRegs(type: number, ebx: number): BackdoorRegs {
    return { eax: BDOOR_MAGIC, ebx: ebx >>> 0, ecx: messageEcx(type), edx: edxLb, esi: cookieHigh, edi: cookieLow };
  }

  /** Classifies a status word: returns normally on SUCCESS, throws Restart on CPT, a VmkdError otherwise. */
  function check(status: number, step: string, failCode: typeof GuestRpcErrorCode.SendFailed | typeof GuestRpcErrorCode.ReceiveFailed, details: Record<string, unknown> = {}): void {
    if ((status & MessageStatus.Success) !== 0) return;
    if ((status & MessageStatus.Checkpoint) !== 0) throw new Restart(step);
    if ((status & GONE) !== 0) {
      isOpen = false;
      throw guestRpcError(GuestRpcErrorCode.ChannelClosed, `channel ${id} is gone (${step}: status 0x${status.toString(16)})`, { step, status, channel: id, ...details }, true);
    }
    throw guestRpcError(failCode, `${step} failed (status 0x${status.toString(16)})`, { step, status, channel: id, ...details });
  }

  function ensureOpen(): void {
    if (!isOpen) throw guestRpcError(GuestRpcErrorCode.NotOpen, `channel ${id} is closed`, { channel: id });
  }

  async function retrying<T>(what: string, attemptOnce: () => Promise<T>): Promise<T> {
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      try {
        return await attemptOnce();
      } catch (error) {
        if (!(error instanceof Restart)) throw error;
      }
    }
    throw guestRpcError(GuestRpcErrorCode.CheckpointLoop, `${what} interrupted by ${maxRetries + 1} checkpoints`, { channel: id });
  }

  async function sendOnce(data: Uint8Array): Promise<void> {
    const length = data.length;
    const sized = await port.call(lbRegs(MessageType.SendSize, length));
    const status = sized.ecx >>> 16;
    check(status, 'sendsize', GuestRpcErrorCode.SendFailed, { length });
    if (length === 0) return;
    if ((status & MessageStatus.HighBandwidth) !== 0 && !lbOnly) {
      // HB send: RSI = source, cookie low in EDI, cookie high in EBP.
      const out = await port.hbOut(
        { eax: BDOOR_MAGIC, ebx: HB_MESSAGE_EBX, ecx: length, edx: ((id << 16) | hbOutPort) >>> 0, esi: 0, edi: cookieLow, ebp: cookieHigh },
        data,
      );
      check(out.ebx >>> 16, 'hb-send', GuestRpcErrorCode.SendFailed, { length });
      return;
    }
    const whole = length & ~3;
    for (let off = 0; off < whole; off += 4) {
      const word = (data[off] | (data[off + 1] << 8) | (data[off + 2] << 16) | (data[off + 3] << 24)) >>> 0;
      check((await port.call(lbRegs(MessageType.SendPayload, word))).ecx >>> 16, 'sendpayload', GuestRpcErrorCode.SendFailed, { offset: off });
    }
    if (whole < length) {
      // The last 1–3 bytes, without reading past the end of the buffer.
      let word = 0;
      for (let i = whole; i < length; i++) word |= data[i] << (8 * (i - whole));
      check((await port.call(lbRegs(MessageType.SendPayload, word))).ecx >>> 16, 'sendpayload', GuestRpcErrorCode.SendFailed, { offset: whole });
    }
  }

  async function receiveOnce(): Promise<Uint8Array | null> {
    const sized = await port.call(lbRegs(MessageType.RecvSize, 0));
    const status = sized.ecx >>> 16;
    check(status, 'recvsize', GuestRpcErrorCode.ReceiveFailed);
    if ((status & MessageStatus.DoRecv) === 0) return null;
    if (sized.edx >>> 16 !== MessageType.SendSize) {
      throw guestRpcError(GuestRpcErrorCode.Protocol, `recvsize: EDX marker ${sized.edx >>> 16}, expected 1`, { step: 'recvsize', expected: 1, actual: sized.edx >>> 16 });
    }
    const length = sized.ebx >>> 0;
    if (length > maxReply) {
      await port.call(lbRegs(MessageType.RecvStatus, 0));
      throw guestRpcError(GuestRpcErrorCode.ReplyTooLarge, `reply of ${length} bytes exceeds ${maxReply}`, { length, limit: maxReply });
    }
    let reply: Uint8Array;
    if ((status & MessageStatus.HighBandwidth) !== 0 && length > 0 && !lbOnly) {
      // HB receive: RDI = destination, cookie high in ESI, cookie low in EBP.
      const { regs, data } = await port.hbIn(
        { eax: BDOOR_MAGIC, ebx: HB_MESSAGE_EBX, ecx: length, edx: ((id << 16) | hbInPort) >>> 0, esi: cookieHigh, edi: 0, ebp: cookieLow },
        length,
      );
      check(regs.ebx >>> 16, 'hb-receive', GuestRpcErrorCode.ReceiveFailed, { length });
      if (data.length !== length) {
        throw guestRpcError(GuestRpcErrorCode.Protocol, `hb-receive delivered ${data.length} of ${length} bytes`, { step: 'hb-receive', expected: length, actual: data.length });
      }
      reply = data;
    } else {
      reply = new Uint8Array(length);
      for (let off = 0; off < length; off += 4) {
        const out = await port.call(lbRegs(MessageType.RecvPayload, MessageStatus.Success));
        check(out.ecx >>> 16, 'recvpayload', GuestRpcErrorCode.ReceiveFailed, { offset: off });
        if (out.edx >>> 16 !== MessageType.SendPayload) {
          throw guestRpcError(GuestRpcErrorCode.Protocol, `recvpayload: EDX marker ${out.edx >>> 16}, expected 2`, { step: 'recvpayload', expected: 2, actual: out.edx >>> 16 });
        }
        const word = out.ebx >>> 0;
        const n = Math.min(4, length - off);
        for (let i = 0; i < n; i++) reply[off + i] = (word >>> (8 * i)) & 0xff;
      }
    }
    check((await port.call(lbRegs(MessageType.RecvStatus, MessageStatus.Success))).ecx >>> 16, 'recvstatus', GuestRpcErrorCode.ReceiveFailed);
    return reply;
  }

  return {
    id,
    cookies,
    get isOpen() {
      return isOpen;
    },
    async send(data) {
      ensureOpen();
      await retrying('send', () => sendOnce(data));
    },
    async receive() {
      ensureOpen();
      return retrying('receive', receiveOnce);
    },
    async close() {
      if (!isOpen) return;
      isOpen = false;
      try {
        await port.call(lbRegs(MessageType.Close, 0));
      } catch {
        // CLOSE's result is ignored (spec §4.5); a dead port changes nothing for the caller.
      }
    },
  };
}
