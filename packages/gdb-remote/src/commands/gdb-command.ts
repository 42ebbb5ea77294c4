import { fromHex, parseHexNumber } from '../rsp/hex.js';

/**
 * One RSP request, parsed (gdb manual, "Packets", "General Query Packets", "vCont"). Parsing is
 * pure: the dispatcher executes the result. Thread ids follow gdb's rules: -1 all, 0 any, n > 0 one
 * thread; here thread n is processor n − 1.
 */
export type VContAction = { readonly action: 'c' | 's' | 't'; readonly thread: number | undefined };

export type GdbCommand =
  | { readonly kind: 'halt-reason' }
  | { readonly kind: 'read-registers' }
  | { readonly kind: 'write-registers'; readonly data: Uint8Array }
  | { readonly kind: 'read-register'; readonly regnum: number }
  | { readonly kind: 'write-register'; readonly regnum: number; readonly data: Uint8Array }
  | { readonly kind: 'read-memory'; readonly address: bigint; readonly length: number }
  /** `x`: the binary read (gdb 16's and lldb's; rsp/binary-reply.ts says how they differ). */
  | { readonly kind: 'read-memory-binary'; readonly address: bigint; readonly length: number }
  | { readonly kind: 'write-memory'; readonly address: bigint; readonly data: Uint8Array }
  | { readonly kind: 'continue'; readonly address: bigint | undefined }
  | { readonly kind: 'step'; readonly address: bigint | undefined }
  | { readonly kind: 'vcont-query' }
  | { readonly kind: 'vcont'; readonly actions: readonly VContAction[] }
  | { readonly kind: 'set-thread'; readonly op: 'g' | 'c'; readonly thread: number }
  | { readonly kind: 'thread-alive'; readonly thread: number }
  | { readonly kind: 'insert-breakpoint' | 'remove-breakpoint'; readonly type: number; readonly address: bigint; readonly size: number }
  | { readonly kind: 'detach' }
  | { readonly kind: 'kill' }
  | { readonly kind: 'supported'; readonly features: readonly string[] }
  | { readonly kind: 'start-no-ack' }
  | { readonly kind: 'attached' }
  | { readonly kind: 'current-thread' }
  | { readonly kind: 'thread-list-first' }
  | { readonly kind: 'thread-list-next' }
  | { readonly kind: 'thread-extra-info'; readonly thread: number }
  | { readonly kind: 'offsets' }
  | { readonly kind: 'xfer-read'; readonly object: string; readonly annex: string; readonly offset: number; readonly length: number }
  | { readonly kind: 'monitor'; readonly command: string }
  | { readonly kind: 'symbol' }
  | { readonly kind: 'host-info' }
  | { readonly kind: 'process-info' }
  /** lldb's `qWatchpointSupportInfo`: how many watchpoints the target has. */
  | { readonly kind: 'watchpoint-info' }
  /** A request we recognise as malformed: answered `E` + code. */
  | { readonly kind: 'bad'; readonly reason: string }
  /** Anything else: answered with the empty packet, RSP's "not supported". */
  | { readonly kind: 'unsupported'; readonly packet: string };

const bad = (reason: string): GdbCommand => ({ kind: 'bad', reason });

function parseThread(text: string): number | undefined {
  if (text === '-1') return -1;
  const v = parseHexNumber(text);
  return v === undefined || v > 0xffffn ? undefined : Number(v);
}

function parseAddressLength(text: string): { address: bigint; length: number } | undefined {
  const comma = text.indexOf(',');
  if (comma < 0) return undefined;
  const address = parseHexNumber(text.slice(0, comma));
  const length = parseHexNumber(text.slice(comma + 1));
  if (address === undefined || length === undefined || length > 0x7fffffffn) return undefined;
  return { address, length: Number(length) };
}

/** Parses one packet body (after unescaping). `X` keeps its binary tail, so bytes come in. */
export function parseGdbCommand(data: Uint8Array): GdbCommand {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
  if (text.length === 0) return { kind: 'unsupported', packet: '' };
  const head = text[0];
  const rest = text.slice(1);
  switch (head) {
    case '?':
      return { kind: 'halt-reason' };
    case 'g':
      return { kind: 'read-registers' };
    case 'G': {
      const bytes = fromHex(rest);
      return bytes === undefined ? bad('G: register data is not hex') : { kind: 'write-registers', data: bytes };
    }
    case 'p': {
      const n = parseHexNumber(rest);
      return n === undefined ? bad('p: register number is not hex') : { kind: 'read-register', regnum: Number(n) };
    }
    case 'P': {
      const eq = rest.indexOf('=');
      const n = eq < 0 ? undefined : parseHexNumber(rest.slice(0, eq));
      const bytes = eq < 0 ? undefined : fromHex(rest.slice(eq + 1));
      return n === undefined || bytes === undefined ? bad('P: expected n=value in hex') : { kind: 'write-register', regnum: Number(n), data: bytes };
    }
    case 'm': {
      const al = parseAddressLength(rest);
      return al === undefined ? bad('m: expected addr,length in hex') : { kind: 'read-memory', ...al };
    }
    case 'x': {
      const al = parseAddressLength(rest);
      return al === undefined ? bad('x: expected addr,length in hex') : { kind: 'read-memory-binary', ...al };
    }
    case 'M': {
      const colon = rest.indexOf(':');
      const al = colon < 0 ? undefined : parseAddressLength(rest.slice(0, colon));
      const bytes = colon < 0 ? undefined : fromHex(rest.slice(colon + 1));
      if (al === undefined || bytes === undefined || bytes.length !== al.length) return bad('M: expected addr,length:hex with length bytes');
      return { kind: 'write-memory', address: al.address, data: bytes };
    }
    case 'X': {
      const colon = text.indexOf(':');
      const al = colon < 0 ? undefined : parseAddressLength(text.slice(1, colon));
      if (al === undefined) return bad('X: expected addr,length:binary');
      const bytes = data.slice(colon + 1);
      // gdb probes X support with a zero-length write; the length must match the data.
      if (bytes.length !== al.length) return bad(`X: ${al.length} bytes announced, ${bytes.length} sent`);
      return { kind: 'write-memory', address: al.address, data: bytes };
    }
    case 'c':
    case 's': {
      const address = rest.length === 0 ? undefined : parseHexNumber(rest);
      if (rest.length > 0 && address === undefined) return bad(`${head}: address is not hex`);
      return { kind: head === 'c' ? 'continue' : 'step', address };
    }
    case 'C':
    case 'S': {
      // The signal is meaningless to a kernel (KD continues with DBG_CONTINUE); an address may follow.
      const semi = rest.indexOf(';');
      const address = semi < 0 ? undefined : parseHexNumber(rest.slice(semi + 1));
      if (semi >= 0 && address === undefined) return bad(`${head}: address is not hex`);
      return { kind: head === 'C' ? 'continue' : 'step', address };
    }
    case 'H': {
      const op = rest[0];
      const thread = parseThread(rest.slice(1));
      if ((op !== 'g' && op !== 'c') || thread === undefined) return bad('H: expected Hg/Hc and a thread id');
      return { kind: 'set-thread', op, thread };
    }
    case 'T': {
      const thread = parseThread(rest);
      return thread === undefined ? bad('T: thread id is not hex') : { kind: 'thread-alive', thread };
    }
    case 'Z':
    case 'z': {
      const m = /^([0-4]),([0-9a-fA-F]{1,16}),([0-9a-fA-F]{1,8})(;.*)?$/.exec(rest);
      if (m === null) return bad(`${head}: expected type,addr,kind`);
      return { kind: head === 'Z' ? 'insert-breakpoint' : 'remove-breakpoint', type: Number(m[1]), address: BigInt(`0x${m[2]}`), size: parseInt(m[3], 16) };
    }
    case 'D':
      return { kind: 'detach' };
    case 'k':
      return { kind: 'kill' };
    case 'q':
    case 'Q':
      return parseQuery(text);
    case 'v':
      return parseV(text);
    default:
      return { kind: 'unsupported', packet: text.slice(0, 64) };
  }
}

function parseQuery(text: string): GdbCommand {
  if (text.startsWith('qSupported')) {
    const colon = text.indexOf(':');
    return { kind: 'supported', features: colon < 0 ? [] : text.slice(colon + 1).split(';') };
  }
  if (text === 'QStartNoAckMode') return { kind: 'start-no-ack' };
  if (text === 'qAttached' || text.startsWith('qAttached:')) return { kind: 'attached' };
  if (text === 'qC') return { kind: 'current-thread' };
  if (text === 'qfThreadInfo') return { kind: 'thread-list-first' };
  if (text === 'qsThreadInfo') return { kind: 'thread-list-next' };
  if (text.startsWith('qThreadExtraInfo,')) {
    const thread = parseThread(text.slice('qThreadExtraInfo,'.length));
    return thread === undefined ? bad('qThreadExtraInfo: thread id is not hex') : { kind: 'thread-extra-info', thread };
  }
  if (text === 'qOffsets') return { kind: 'offsets' };
  if (text === 'qSymbol::') return { kind: 'symbol' };
  if (text === 'qHostInfo') return { kind: 'host-info' };
  if (text === 'qProcessInfo') return { kind: 'process-info' };
  if (text === 'qWatchpointSupportInfo' || text === 'qWatchpointSupportInfo:') return { kind: 'watchpoint-info' };
  if (text.startsWith('qRcmd,')) {
    const bytes = fromHex(text.slice('qRcmd,'.length));
    return bytes === undefined ? bad('qRcmd: command is not hex') : { kind: 'monitor', command: Buffer.from(bytes).toString('latin1') };
  }
  if (text.startsWith('qXfer:')) {
    // qXfer:object:read:annex:offset,length
    const m = /^qXfer:([a-z-]+):read:([^:]*):([0-9a-fA-F]+),([0-9a-fA-F]+)$/.exec(text);
    if (m === null) return { kind: 'unsupported', packet: text.slice(0, 64) };
    return { kind: 'xfer-read', object: m[1], annex: m[2], offset: parseInt(m[3], 16), length: parseInt(m[4], 16) };
  }
  return { kind: 'unsupported', packet: text.slice(0, 64) };
}

function parseV(text: string): GdbCommand {
  if (text === 'vCont?') return { kind: 'vcont-query' };
  if (text.startsWith('vCont;')) {
    const actions: VContAction[] = [];
    for (const part of text.slice('vCont;'.length).split(';')) {
      const [act, threadText] = part.split(':');
      // C/S carry a signal (Csig): a kernel ignores it, as for the C and S packets.
      const action = act[0] === 'C' ? 'c' : act[0] === 'S' ? 's' : act[0];
      if (action !== 'c' && action !== 's' && action !== 't') return bad(`vCont: unknown action ${act}`);
      const thread = threadText === undefined ? undefined : parseThread(threadText);
      if (threadText !== undefined && thread === undefined) return bad('vCont: thread id is not hex');
      actions.push({ action, thread });
    }
    return { kind: 'vcont', actions };
  }
  return { kind: 'unsupported', packet: text.slice(0, 64) };
}
