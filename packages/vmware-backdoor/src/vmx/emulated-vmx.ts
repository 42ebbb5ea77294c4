import { VmkdError } from '@vmkd/kd-protocol';
import {
  BDOOR_MAGIC,
  BDOOR_PORT,
  BDOORHB_CMD_MESSAGE,
  BDOORHB_PORT,
  BackdoorCommand,
  GUESTMSG_FLAG_COOKIE,
  GUESTMSG_MAX_CHANNEL,
  GUESTMSG_MAX_IN_SIZE,
  HYPERCALL_FLAG_HB,
  HYPERCALL_FLAG_WRITE,
  MESSAGE_STATUS_GUEST_MASK,
  MessageStatus,
  MessageType,
  ProductType,
  RPCI_PROTOCOL,
  TCLO_PROTOCOL,
} from '../abi.js';
import type { BackdoorRegs } from '../backdoor-port.js';
import { VmxErrorCode, notVmwareError } from './errors.js';
import { installStandardHandlers } from './standard-handlers.js';
import type { EmulatedVmx, RpciHandler, RpciHandlerResult, VmxFault, VmxStats } from './types.js';

export type { EmulatedVmx } from './types.js';

export interface EmulatedVmxOptions {
  /** GETVERSION's ECX. Default 4 (Workstation). */
  readonly productType?: number;
  /** GETVERSION's EAX. Default 6. */
  readonly version?: number;
  /** Channel table size. Default 128 (`GUESTMSG_MAX_CHANNEL`). */
  readonly maxChannels?: number;
  /** Offer the high-bandwidth payload path. Default true (VirtualKD guests require it). */
  readonly highBandwidth?: boolean;
  /** Largest guest-to-host message. Default 64 KiB. */
  readonly maxMessageSize?: number;
  /** Channels idle this long are reclaimed when the table is full. Default 60 s. */
  readonly idleChannelTimeoutMs?: number;
  /** Cookie source (tests may make it deterministic). Default: crypto-quality random. */
  readonly random32?: () => number;
  /** Initial guestinfo variables (`guestinfo.` prefix optional). */
  readonly guestInfo?: Readonly<Record<string, string>>;
  /** Install info-get/info-set/log/capability handlers. Default true. */
  readonly standardHandlers?: boolean;
  /** GETMEMSIZE answer in MiB. Default 4096. */
  readonly memSizeMiB?: number;
}


interface Channel {
  readonly id: number;
  readonly tclo: boolean;
  readonly cookieHigh: number;
  readonly cookieLow: number;
  readonly cookies: boolean;
  /** Announced length of the message being sent, or -1 when none. */
  sendLength: number;
  sendBuf: Uint8Array;
  sendFill: number;
  reply: Uint8Array | null;
  replyOffset: number;
  replyId: number;
  busy: boolean;
  lastUse: number;
}

const FAIL_EAX = 0xffffffff;
const MESSAGE_ECX = BackdoorCommand.Message;
const EMPTY = new Uint8Array(0);
const latin1 = new TextDecoder('latin1');
const utf8 = new TextEncoder();
const PREFIX_OK = utf8.encode('1 ');
const PREFIX_FAIL = utf8.encode('0 ');

/** Cookies come from a pool refilled 256 at a time: one OPEN needs two, and it is on every KD call's path. */
const cookiePool = new Uint32Array(256);
let cookieNext = cookiePool.length;
function defaultRandom32(): number {
  if (cookieNext === cookiePool.length) {
    globalThis.crypto.getRandomValues(cookiePool);
    cookieNext = 0;
  }
  return cookiePool[cookieNext++];
}

function toBytes(value: string | Uint8Array | undefined): Uint8Array {
  if (value === undefined) return EMPTY;
  return typeof value === 'string' ? utf8.encode(value) : value;
}

function withPrefix(prefix: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

export function createEmulatedVmx(options: EmulatedVmxOptions = {}): EmulatedVmx {
  const productType = options.productType ?? ProductType.Workstation;
  const version = options.version ?? 6;
  let maxChannels = options.maxChannels ?? GUESTMSG_MAX_CHANNEL;
  let highBandwidth = options.highBandwidth ?? true;
  const maxMessageSize = options.maxMessageSize ?? GUESTMSG_MAX_IN_SIZE;
  const idleChannelTimeoutMs = options.idleChannelTimeoutMs ?? 60_000;
  const random32 = options.random32 ?? defaultRandom32;
  let notVmware = false;

  const channels = new Map<number, Channel>();
  const handlers = new Map<string, RpciHandler>();
  const prefixHandlers: Array<{ prefix: string; handler: RpciHandler }> = [];
  const logs: string[] = [];
  const tcloQueue: Uint8Array[] = [];
  const tcloReplyList: Uint8Array[] = [];
  const faults: Array<{ fault: VmxFault; remaining: number }> = [];
  const counters: VmxStats = { calls: 0, hbOut: 0, hbIn: 0, rpcs: 0, refused: 0, openChannels: 0, bytesIn: 0, bytesOut: 0 };

  // --- register results -------------------------------------------------------------------

  function nonMagic(regs: BackdoorRegs): BackdoorRegs {
    counters.refused++;
    return { ...regs, eax: FAIL_EAX };
  }

  /** LB MESSAGE result: status in ECX bits 16–31, low half 0 (VirtualKD compares ECX exactly). */
  function lb(regs: BackdoorRegs, status: number, extra?: Partial<BackdoorRegs>): BackdoorRegs {
    if ((status & MessageStatus.Success) === 0) counters.refused++;
    return { ...regs, ...extra, ecx: (status << 16) >>> 0 };
  }

  /** HB result: status in EBX bits 16–31, RCX consumed. */
  function hb(regs: BackdoorRegs, status: number): BackdoorRegs {
    if ((status & MessageStatus.Success) === 0) counters.refused++;
    return { ...regs, ebx: (status << 16) >>> 0, ecx: 0 };
  }

  function hbStatus(): number {
    return highBandwidth ? MessageStatus.HighBandwidth : 0;
  }

  // --- faults -----------------------------------------------------------------------------

  /** Counts one MESSAGE access and returns the fault due on it, if any. */
  function dueFault(): VmxFault | undefined {
    let due: VmxFault | undefined;
    for (let i = faults.length - 1; i >= 0; i--) {
      const f = faults[i];
      if (--f.remaining === 0) {
        due ??= f.fault;
        faults.splice(i, 1);
      }
    }
    return due;
  }

  /** Applies a fault to a channel; returns the status word to answer with. */
  function applyFault(fault: VmxFault, channel: Channel | undefined): number {
    if (fault === 'checkpoint') {
      // After a checkpoint the guest restarts its send from SENDSIZE or its receive from RECVSIZE.
      if (channel !== undefined) {
        channel.sendLength = -1;
        channel.sendFill = 0;
        channel.replyOffset = 0;
        channel.busy = false;
      }
      return MessageStatus.Checkpoint;
    }
    if (channel !== undefined) freeChannel(channel.id);
    return fault === 'closed' ? MessageStatus.Closed : MessageStatus.Timeout;
  }

  // --- channels ---------------------------------------------------------------------------

  function freeChannel(id: number): boolean {
    const existed = channels.delete(id);
    counters.openChannels = channels.size;
    return existed;
  }

  function allocateChannelId(now: number): number | undefined {
    for (let id = 0; id < maxChannels; id++) if (!channels.has(id)) return id;
    // Table full: reclaim channels idle for too long, as VMware closes idle channels.
    for (const channel of channels.values()) {
      if (!channel.busy && now - channel.lastUse >= idleChannelTimeoutMs) freeChannel(channel.id);
    }
    for (let id = 0; id < maxChannels; id++) if (!channels.has(id)) return id;
    return undefined;
  }

  /** Finds the channel named by EDX bits 16–31 and checks its cookies (ESI/EDI or their HB homes). */
  function lookup(edx: number, cookieHigh: number, cookieLow: number): Channel | undefined {
    const channel = channels.get(edx >>> 16);
    if (channel === undefined) return undefined;
    if (channel.cookies && (channel.cookieHigh !== cookieHigh >>> 0 || channel.cookieLow !== cookieLow >>> 0)) return undefined;
    channel.lastUse = Date.now();
    return channel;
  }

  // --- dispatch ---------------------------------------------------------------------------

  function findHandler(name: string): RpciHandler | undefined {
    const exact = handlers.get(name);
    if (exact !== undefined) return exact;
    let best: { prefix: string; handler: RpciHandler } | undefined;
    for (const entry of prefixHandlers) {
      if (name.startsWith(entry.prefix) && (best === undefined || entry.prefix.length > best.prefix.length)) best = entry;
    }
    return best?.handler;
  }

  async function dispatch(channel: Channel, message: Uint8Array): Promise<Uint8Array> {
    counters.rpcs++;
    if (channel.tclo) {
      // On TCLO the guest's message is its reply to the previous host command (or a poll).
      if (message.length > 0) tcloReplyList.push(message.slice());
      const next = tcloQueue.shift();
      return next ?? EMPTY;
    }
    const space = message.indexOf(0x20);
    const name = latin1.decode(space < 0 ? message : message.subarray(0, space));
    const args = space < 0 ? EMPTY : message.subarray(space + 1);
    const handler = findHandler(name);
    if (handler === undefined) return utf8.encode('0 Unknown command');
    let result: RpciHandlerResult;
    try {
      result = await handler(args, { command: name, channelId: channel.id, vmx });
    } catch (error) {
      return withPrefix(PREFIX_FAIL, utf8.encode(error instanceof Error ? error.message : String(error)));
    }
    if (typeof result === 'string' || result instanceof Uint8Array) return withPrefix(PREFIX_OK, toBytes(result));
    return withPrefix(result.ok ? PREFIX_OK : PREFIX_FAIL, toBytes(result.reply));
  }

  /** Runs the handler once a message is complete and stores its reply for RECVSIZE. */
  async function complete(channel: Channel): Promise<void> {
    const message = channel.sendFill === channel.sendBuf.length ? channel.sendBuf : channel.sendBuf.subarray(0, channel.sendFill);
    channel.sendLength = -1;
    channel.sendFill = 0;
    channel.sendBuf = EMPTY;
    channel.busy = true;
    try {
      const reply = await dispatch(channel, message);
      channel.reply = channel.tclo && reply.length === 0 ? null : reply;
      channel.replyOffset = 0;
    } finally {
      channel.busy = false;
    }
  }

  // --- MESSAGE, low bandwidth -------------------------------------------------------------

  async function message(regs: BackdoorRegs): Promise<BackdoorRegs> {
    const type = regs.ecx >>> 16;
    if (type === MessageType.Open) return open(regs);
    const fault = dueFault();
    const channel = lookup(regs.edx, regs.esi, regs.edi);
    if (fault !== undefined) return lb(regs, applyFault(fault, channel));
    if (channel === undefined || channel.busy) return lb(regs, 0);

    switch (type) {
      case MessageType.SendSize: {
        const length = regs.ebx >>> 0;
        if (length > maxMessageSize) return lb(regs, 0);
        channel.reply = null; // a new request drops an unread reply
        channel.sendLength = length;
        channel.sendFill = 0;
        channel.sendBuf = length === 0 ? EMPTY : new Uint8Array(length);
        if (length === 0) await complete(channel);
        return lb(regs, MessageStatus.Success | hbStatus());
      }
      case MessageType.SendPayload: {
        if (channel.sendLength < 0) return lb(regs, 0);
        const take = Math.min(4, channel.sendLength - channel.sendFill);
        const word = regs.ebx >>> 0;
        for (let i = 0; i < take; i++) channel.sendBuf[channel.sendFill + i] = (word >>> (8 * i)) & 0xff;
        channel.sendFill += take;
        counters.bytesIn += take;
        if (channel.sendFill === channel.sendLength) await complete(channel);
        return lb(regs, MessageStatus.Success);
      }
      case MessageType.RecvSize: {
        if (channel.reply === null) return lb(regs, MessageStatus.Success);
        channel.replyOffset = 0;
        channel.replyId = ((1 << 16) | (regs.edx & 0xffff)) >>> 0;
        return lb(regs, MessageStatus.Success | MessageStatus.DoRecv | hbStatus(), {
          ebx: channel.reply.length,
          edx: channel.replyId,
        });
      }
      case MessageType.RecvPayload: {
        const reply = channel.reply;
        if (reply === null || channel.replyOffset >= reply.length) return lb(regs, 0);
        const o = channel.replyOffset;
        const n = Math.min(4, reply.length - o);
        let word = 0;
        for (let i = 0; i < n; i++) word |= reply[o + i] << (8 * i);
        channel.replyOffset += n;
        counters.bytesOut += n;
        return lb(regs, MessageStatus.Success, { ebx: word >>> 0, edx: ((2 << 16) | (regs.edx & 0xffff)) >>> 0 });
      }
      case MessageType.RecvStatus: {
        const ebx = regs.ebx >>> 0;
        // open-vm-tools answers SUCCESS (or 0 to reject); VirtualKD echoes RECVSIZE's EDX.
        if ((ebx & ~MESSAGE_STATUS_GUEST_MASK) !== 0 && ebx !== channel.replyId) return lb(regs, 0);
        channel.reply = null;
        channel.replyOffset = 0;
        return lb(regs, MessageStatus.Success);
      }
      case MessageType.Close:
        freeChannel(channel.id);
        return lb(regs, MessageStatus.Success);
      default:
        return lb(regs, 0);
    }
  }

  function open(regs: BackdoorRegs): BackdoorRegs {
    const fault = dueFault();
    if (fault !== undefined) return lb(regs, fault === 'checkpoint' ? MessageStatus.Checkpoint : 0);
    const ebx = regs.ebx >>> 0;
    const cookies = (ebx & GUESTMSG_FLAG_COOKIE) !== 0;
    const protocol = (ebx & ~GUESTMSG_FLAG_COOKIE) >>> 0;
    if (protocol !== RPCI_PROTOCOL && protocol !== TCLO_PROTOCOL) return lb(regs, 0);
    const now = Date.now();
    const id = allocateChannelId(now);
    if (id === undefined) return lb(regs, 0);
    const channel: Channel = {
      id,
      tclo: protocol === TCLO_PROTOCOL,
      cookies,
      cookieHigh: cookies ? random32() >>> 0 : 0,
      cookieLow: cookies ? random32() >>> 0 : 0,
      sendLength: -1,
      sendBuf: EMPTY,
      sendFill: 0,
      reply: null,
      replyOffset: 0,
      replyId: 0,
      busy: false,
      lastUse: now,
    };
    channels.set(id, channel);
    counters.openChannels = channels.size;
    return lb(regs, MessageStatus.Success, {
      edx: ((id << 16) | (regs.edx & 0xffff)) >>> 0,
      esi: channel.cookieHigh,
      edi: channel.cookieLow,
    });
  }

  // --- entry points -----------------------------------------------------------------------

  function guard(regs: BackdoorRegs, ports: readonly number[]): BackdoorRegs | undefined {
    counters.calls++;
    if (notVmware) throw notVmwareError();
    if (regs.eax >>> 0 !== BDOOR_MAGIC || !ports.includes(regs.edx & 0xffff)) return nonMagic(regs);
    return undefined;
  }

  const LB_PORTS = [BDOOR_PORT, 0] as const;
  const HB_OUT_PORTS = [BDOORHB_PORT, HYPERCALL_FLAG_HB | HYPERCALL_FLAG_WRITE] as const;
  const HB_IN_PORTS = [BDOORHB_PORT, HYPERCALL_FLAG_HB] as const;

  async function call(regs: BackdoorRegs): Promise<BackdoorRegs> {
    const refused = guard(regs, LB_PORTS);
    if (refused !== undefined) return refused;
    switch (regs.ecx & 0xffff) {
      case MESSAGE_ECX:
        return message(regs);
      case BackdoorCommand.GetVersion:
        return { ...regs, eax: version, ebx: BDOOR_MAGIC, ecx: productType };
      case BackdoorCommand.GetMemSize:
        return { ...regs, eax: ((options.memSizeMiB ?? 4096) * 1024 * 1024) >>> 0 };
      case BackdoorCommand.GetMhz:
        return { ...regs, eax: 3000 };
      default:
        // Commands this VMX does not model answer like QEMU's vmport does for unknown ones.
        return nonMagic(regs);
    }
  }

  async function hbOut(regs: BackdoorRegs, data: Uint8Array): Promise<BackdoorRegs> {
    const refused = guard(regs, HB_OUT_PORTS);
    if (refused !== undefined) return refused;
    counters.hbOut++;
    // HB send: RSI = buffer, cookie low in EDI, cookie high in EBP.
    const fault = dueFault();
    const channel = lookup(regs.edx, regs.ebp ?? 0, regs.edi);
    if (fault !== undefined) return hb(regs, applyFault(fault, channel));
    if ((regs.ebx & 0xffff) !== BDOORHB_CMD_MESSAGE || !highBandwidth) return hb(regs, 0);
    if (channel === undefined || channel.busy || channel.sendLength < 0) return hb(regs, 0);
    // An HB send carries exactly the rest of the announced message.
    if (data.length !== channel.sendLength - channel.sendFill) return hb(regs, 0);
    channel.sendBuf.set(data, channel.sendFill);
    channel.sendFill += data.length;
    counters.bytesIn += data.length;
    await complete(channel);
    return hb(regs, MessageStatus.Success);
  }

  function hbIn(regs: BackdoorRegs, length: number): Promise<{ regs: BackdoorRegs; data: Uint8Array }> {
    // A throw inside the executor (not VMware) becomes the rejection.
    return new Promise((resolve) => resolve(hbInSync(regs, length)));
  }

  function hbInSync(regs: BackdoorRegs, length: number): { regs: BackdoorRegs; data: Uint8Array } {
    const refused = guard(regs, HB_IN_PORTS);
    if (refused !== undefined) return { regs: refused, data: EMPTY };
    counters.hbIn++;
    // HB receive: RDI = buffer, cookie high in ESI, cookie low in EBP.
    const fault = dueFault();
    const channel = lookup(regs.edx, regs.esi, regs.ebp ?? 0);
    if (fault !== undefined) return { regs: hb(regs, applyFault(fault, channel)), data: EMPTY };
    if ((regs.ebx & 0xffff) !== BDOORHB_CMD_MESSAGE || !highBandwidth) return { regs: hb(regs, 0), data: EMPTY };
    const reply = channel?.reply ?? null;
    if (channel === undefined || reply === null || length > reply.length - channel.replyOffset) {
      return { regs: hb(regs, 0), data: EMPTY };
    }
    const data = reply.subarray(channel.replyOffset, channel.replyOffset + length);
    channel.replyOffset += length;
    counters.bytesOut += length;
    return { regs: hb(regs, MessageStatus.Success), data };
  }

  const guestInfo = new Map<string, string>();

  const vmx: EmulatedVmx = {
    call,
    hbOut,
    hbIn,
    register(name, handler) {
      if (name.length === 0 || name.includes(' ')) {
        throw new VmkdError(VmxErrorCode.BadHandlerName, `bad RPC handler name ${JSON.stringify(name)}`);
      }
      if (name.endsWith('.*')) {
        const entry = { prefix: name.slice(0, -1), handler };
        prefixHandlers.push(entry);
        return () => {
          const i = prefixHandlers.indexOf(entry);
          if (i >= 0) prefixHandlers.splice(i, 1);
        };
      }
      handlers.set(name, handler);
      return () => {
        if (handlers.get(name) === handler) handlers.delete(name);
      };
    },
    guestInfo,
    logLines: () => logs.slice(),
    sendTclo(command) {
      tcloQueue.push(toBytes(command));
    },
    tcloReplies: () => tcloReplyList.slice(),
    injectFault(fault, onAccess = 1) {
      faults.push({ fault, remaining: Math.max(1, Math.trunc(onAccess)) });
    },
    setHighBandwidth(enabled) {
      highBandwidth = enabled;
    },
    setMaxChannels(max) {
      maxChannels = Math.max(0, Math.trunc(max));
    },
    setNotVmware(enabled) {
      notVmware = enabled;
    },
    closeChannel: (id) => freeChannel(id),
    openChannelIds: () => [...channels.keys()].sort((a, b) => a - b),
    stats: () => ({ ...counters }),
  };

  for (const [key, value] of Object.entries(options.guestInfo ?? {})) {
    guestInfo.set(key.replace(/^guestinfo\./i, '').toLowerCase(), value);
  }
  if (options.standardHandlers ?? true) {
    installStandardHandlers(vmx, guestInfo, (line) => {
      logs.push(line);
      if (logs.length > 1000) logs.shift();
    });
  }
  return vmx;
}
