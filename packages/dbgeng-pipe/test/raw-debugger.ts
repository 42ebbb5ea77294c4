import { connect, type Socket } from 'node:net';

/** KD spec appendix A.1: what radare2 sends first: a break-in byte, then RESET with id 0. */
export const R2_ATTACH = Buffer.from('62' + '69696969' + '0600' + '0000' + '00000000' + '00000000', 'hex');
export const RESET = Buffer.from('69696969' + '0600' + '0000' + '00000000' + '00000000', 'hex');
/** The reply radare2 accepts: RESET, id 0. */
export const RESET_REPLY = RESET;

export interface Frame {
  leader: 'data' | 'control';
  type: number;
  id: number;
  payload: Buffer;
}

export function ackFor(id: number): Buffer {
  const ack = Buffer.alloc(16);
  ack.write('iiii', 0, 'latin1');
  ack.writeUInt16LE(4, 4);
  ack.writeUInt32LE((id & ~0x800) >>> 0, 8);
  return ack;
}

/**
 * A debugger reduced to raw bytes on a socket: writes what a test says, parses KDCOM frames the
 * endpoint sends back (independently of the kd-protocol codecs under test).
 */
export class RawDebugger {
  private buffer = Buffer.alloc(0);
  /** Every byte the endpoint sent, unparsed. */
  raw = Buffer.alloc(0);
  private readonly frames: Frame[] = [];
  private waiter: (() => void) | undefined;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.raw = Buffer.concat([this.raw, chunk]);
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static async connect(target: { path: string } | { host: string; port: number }): Promise<RawDebugger> {
    const socket = connect(target);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawDebugger(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  private parse(): void {
    for (;;) {
      const data = this.buffer.indexOf('0000', 0, 'latin1');
      const control = this.buffer.indexOf('iiii', 0, 'latin1');
      const starts = [data, control].filter((i) => i >= 0);
      if (starts.length === 0) {
        this.buffer = this.buffer.subarray(Math.max(0, this.buffer.length - 3));
        return;
      }
      const start = Math.min(...starts);
      const buf = this.buffer.subarray(start);
      if (buf.length < 16) return;
      const type = buf.readUInt16LE(4);
      const count = buf.readUInt16LE(6);
      const id = buf.readUInt32LE(8);
      if (start === control) {
        this.frames.push({ leader: 'control', type, id, payload: Buffer.alloc(0) });
        this.buffer = buf.subarray(16);
        continue;
      }
      if (buf.length < 16 + count + 1) return;
      const payload = Buffer.from(buf.subarray(16, 16 + count));
      let sum = 0;
      for (const byte of payload) sum = (sum + byte) >>> 0;
      if (sum !== buf.readUInt32LE(12) || buf[16 + count] !== 0xaa) throw new Error('bad frame from endpoint');
      this.frames.push({ leader: 'data', type, id, payload });
      this.buffer = buf.subarray(16 + count + 1);
    }
  }

  /** The next frame that matches, skipping others; rejects after `timeoutMs`. */
  async nextFrame(match: (frame: Frame) => boolean, timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) {
        const [frame] = this.frames.splice(0, index + 1).slice(-1);
        return frame;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no matching frame from the endpoint');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): Promise<void> {
    this.socket.end();
    this.socket.destroySoon();
    return this.closed;
  }
}
