import type { BackdoorPort } from '../backdoor-port.js';
import { GuestRpcErrorCode, guestRpcError } from './errors.js';
import { openMessageChannel, type MessageChannel, type MessageChannelOptions } from './message-channel.js';
import { isVmkdError } from '@vmkd/kd-protocol';

export interface RpciOptions extends Omit<MessageChannelOptions, 'protocol'> {
  /**
   * Keep one channel open across commands instead of opening one per command (open-vm-tools and
   * VirtualKD open one per command). A kept channel is reopened after CLOSED/TIMEOUT.
   */
  readonly persistent?: boolean;
}

/** An RPCI reply: `ok` for `"1 "`, false for `"0 "`; `result` is what follows the two bytes. */
export interface RpciReply {
  readonly ok: boolean;
  readonly result: Uint8Array;
  /** `result` as UTF-8 text. */
  readonly text: string;
}

export interface Rpci {
  /** Sends one command and returns the parsed reply. Replies that start with neither `"1 "` nor `"0 "` throw `ERR_RPCI_BAD_REPLY`. */
  send(command: string | Uint8Array): Promise<RpciReply>;
  /** As send(), but a `"0 "` reply throws `ERR_RPCI_COMMAND_FAILED`; returns the result bytes. */
  invoke(command: string | Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function parseReply(raw: Uint8Array): RpciReply {
  if (raw.length < 2 || raw[1] !== 0x20 || (raw[0] !== 0x31 && raw[0] !== 0x30)) {
    throw guestRpcError(GuestRpcErrorCode.BadReply, 'reply starts with neither "1 " nor "0 "', {
      head: Array.from(raw.subarray(0, 8)),
      length: raw.length,
    });
  }
  const result = raw.subarray(2);
  let text: string | undefined;
  return {
    ok: raw[0] === 0x31,
    result,
    get text() {
      return (text ??= decoder.decode(result));
    },
  };
}

/** The RPCI client: one request text in, one `"1 "`/`"0 "` reply out (vmware-backdoor spec §4.4). */
export function createRpci(port: BackdoorPort, options: RpciOptions = {}): Rpci {
  const channelOptions: MessageChannelOptions = { ...options, protocol: 'rpci' };
  let kept: MessageChannel | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  async function transact(channel: MessageChannel, request: Uint8Array): Promise<Uint8Array> {
    await channel.send(request);
    const reply = await channel.receive();
    if (reply === null) {
      throw guestRpcError(GuestRpcErrorCode.Protocol, 'no reply after an RPCI request (DORECV clear)', { step: 'recvsize' });
    }
    return reply;
  }

  async function oneShot(request: Uint8Array): Promise<Uint8Array> {
    const channel = await openMessageChannel(port, channelOptions);
    try {
      return await transact(channel, request);
    } finally {
      await channel.close();
    }
  }

  async function persistentSend(request: Uint8Array): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      if (kept === undefined || !kept.isOpen) kept = await openMessageChannel(port, channelOptions);
      try {
        return await transact(kept, request);
      } catch (error) {
        // VMware closes idle channels; when that shows at SENDSIZE nothing was sent, so one retry on
        // a fresh channel is safe. Later failures may have run the command: report them.
        const retryable =
          attempt === 0 && isVmkdError(error, GuestRpcErrorCode.ChannelClosed) && error.details['step'] === 'sendsize';
        if (!kept.isOpen || !retryable) {
          await kept.close();
          kept = undefined;
        }
        if (!retryable) throw error;
      }
    }
  }

  async function send(command: string | Uint8Array): Promise<RpciReply> {
    const request = typeof command === 'string' ? encoder.encode(command) : command;
    if (options.persistent !== true) return parseReply(await oneShot(request));
    // One transaction at a time on the kept channel.
    const run = chain.then(() => persistentSend(request));
    chain = run.catch(() => undefined);
    return parseReply(await run);
  }

  return {
    send,
    async invoke(command) {
      const reply = await send(command);
      if (!reply.ok) {
        const name = typeof command === 'string' ? command.split(' ', 1)[0] : decoder.decode(command.subarray(0, 32)).split(' ', 1)[0];
        throw guestRpcError(GuestRpcErrorCode.CommandFailed, `${name}: ${reply.text}`, { command: name, reply: reply.text });
      }
      return reply.result;
    },
    async close() {
      await chain;
      const channel = kept;
      kept = undefined;
      await channel?.close();
    },
  };
}
