import { parseGdbCommand } from '../commands/gdb-command.js';
import type { FramedPacket, GdbStub, StubReply } from '../gdb-stub.js';
import { decodeRsp, initialRspDecoderState, type RspDecoderState } from './rsp-decoder.js';
import { encodeRspPacket } from './rsp-encoder.js';

/** A connected byte stream, as the listener hands it over (a TCP socket today). */
export interface ByteStream {
  /** `written`, when given, is called once the bytes are handed to the transport (not on failure). */
  write(bytes: Uint8Array, written?: () => void): void;
  /** Closes after what was written has gone out. */
  end(): void;
}

export interface RspConnectionCounters {
  packets: number;
  badChecksums: number;
  oversized: number;
  malformed: number;
  garbageBytes: number;
  interrupts: number;
  retransmits: number;
}

interface HeldFrame {
  readonly release: () => void;
  written: boolean;
  /** Still the last frame sent (what a `-` resends). */
  current: boolean;
  released: boolean;
}

const ACK = Uint8Array.of(0x2b);
const NACK = Uint8Array.of(0x2d);

/**
 * The shell around one RSP client: bytes in → the framing reducer → commands to the stub one at a
 * time → framed replies out. Acks follow gdb's rules until QStartNoAckMode: `+` for every good
 * packet, `-` for a bad checksum (the client resends), our last packet again on the client's `-`.
 * 0x03 is acted on at once, even while a `c` waits for the kernel to stop.
 */
export class RspConnection {
  private decoder: RspDecoderState;
  private noAck = false;
  private lastSent: Uint8Array | undefined;
  /** The pooled frame a `-` would resend: it goes back to its pool only once it is not that one. */
  private held: HeldFrame | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Commands received and not yet answered. */
  private pending = 0;
  private ended = false;
  readonly counters: RspConnectionCounters = { packets: 0, badChecksums: 0, oversized: 0, malformed: 0, garbageBytes: 0, interrupts: 0, retransmits: 0 };

  constructor(
    private readonly stream: ByteStream,
    private readonly stub: GdbStub,
    maxBody: number,
    private readonly onEnd: (how: 'detached' | 'gone') => void,
  ) {
    this.decoder = initialRspDecoderState(maxBody);
  }

  /** Bytes from the client. */
  receive(chunk: Uint8Array): void {
    if (this.ended) return;
    const { state, events } = decodeRsp(this.decoder, chunk);
    this.decoder = state;
    for (const event of events) {
      switch (event.kind) {
        case 'packet':
          this.counters.packets++;
          if (!this.noAck) this.stream.write(ACK);
          this.enqueue(() => this.stub.execute(parseGdbCommand(event.data)));
          break;
        case 'interrupt':
          this.counters.interrupts++;
          if (this.pending > 0) this.stub.interrupt();
          break;
        case 'bad-checksum':
          this.counters.badChecksums++;
          if (!this.noAck) this.stream.write(NACK);
          break;
        case 'oversized':
          this.counters.oversized++;
          if (!this.noAck) this.stream.write(ACK);
          this.enqueue(() => Promise.resolve({ packets: ['E01'] }));
          break;
        case 'malformed':
          this.counters.malformed++;
          if (!this.noAck) this.stream.write(ACK);
          this.enqueue(() => Promise.resolve({ packets: ['E01'] }));
          break;
        case 'nack':
          if (!this.noAck && this.lastSent !== undefined) {
            this.counters.retransmits++;
            this.stream.write(this.lastSent);
          }
          break;
        case 'ack':
          break;
        case 'garbage':
          this.counters.garbageBytes += event.count;
          break;
      }
    }
  }

  /** Sends a packet outside a command's reply (the `O` output of a running kernel). */
  send(body: string | Uint8Array | FramedPacket): void {
    if (this.ended) return;
    const framed = typeof body === 'object' && 'frame' in body ? body : undefined;
    const frame = framed?.frame ?? encodeRspPacket(body as string | Uint8Array);
    this.lastSent = frame;
    const previous = this.held;
    const entry: HeldFrame | undefined = framed?.release === undefined ? undefined : { release: framed.release, written: false, current: true, released: false };
    this.held = entry;
    if (previous !== undefined) {
      previous.current = false;
      this.release(previous);
    }
    if (entry === undefined) this.stream.write(frame);
    else
      this.stream.write(frame, () => {
        entry.written = true;
        this.release(entry);
      });
  }

  /** A pooled frame is reused only once written, and (before no-ack mode) once a `-` can no longer ask for it. */
  private release(entry: HeldFrame): void {
    if (entry.released || !entry.written || (entry.current && !this.noAck)) return;
    entry.released = true;
    entry.release();
  }

  /** The stream closed under us (the client vanished or closed after D/k). */
  closed(): void {
    if (this.ended) return;
    this.ended = true;
    // At once, not behind the queue: a `c` in progress waits for a stop that only this break-in brings.
    const tidied = this.stub.clientGone();
    this.queue = this.queue.then(() => tidied).then(() => this.onEnd('gone'));
  }

  private enqueue(command: () => Promise<StubReply>): void {
    this.pending++;
    this.queue = this.queue.then(async () => {
      try {
        await this.answer(command);
      } finally {
        this.pending--;
      }
    });
  }

  private async answer(command: () => Promise<StubReply>): Promise<void> {
    if (this.ended) return;
    let reply: StubReply;
    try {
      reply = await command();
    } catch {
      // The session is closed: the endpoint is shutting down.
      reply = { packets: ['E05'], close: true };
    }
    if (this.ended) return;
    for (const packet of reply.packets) this.send(packet);
    if (reply.noAck === true) this.noAck = true;
    if (reply.close === true) {
      this.ended = true;
      this.stream.end();
      this.onEnd('detached');
    }
  }
}
