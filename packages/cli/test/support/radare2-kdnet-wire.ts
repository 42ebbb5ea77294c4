import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { ArrivalQueue } from './arrival-queue.js';

/**
 * radare2's KDNET client (`winkd://HOST:PORT:KEY`), datagram for datagram, for tests that need no
 * radare2: radareorg/radare2 `shlr/winkd/iob_net.c` (with its two crypto calls working, see
 * docs/transports/kdnet.md §8), `kd.c` `kd_read_packet` and `winkd.c` `winkd_sync`. Written from
 * radare2's behaviour with node:crypto alone, not with vmkd's codec, so it checks that codec too.
 *
 * What radare2 does, and so what a KDNET target must cope with:
 * - key: four base-36 parts of digits and lower-case letters, each 8 little-endian bytes; HMAC key
 *   = NOT of every key byte, on both channels; HMAC over the 6 header bytes and the plaintext;
 * - it answers the first control datagram whose direction bit is 0 (any poke, whatever its host
 *   port) with `01 02`, the poke's 32 bytes, 32 random bytes and 256 zeros, under the poke's
 *   sequence number and version byte, and then ignores the control channel, but every datagram
 *   still has to authenticate: one that does not fails the read in progress;
 * - its data datagrams are numbered 1, 2, 3… (a static counter), direction 0x80;
 * - `winkd_sync` over KDNET reads one KD packet first (the target's 12-byte connection check, an
 *   UNUSED packet it reads as a 16-byte header whose checksum is the next 4 plaintext bytes), then
 *   sends the break-in `b` as a one-byte data datagram, sends no RESET, and waits for a
 *   STATE_CHANGE64 (skipping up to 10 other packets; UNUSED ones do not count);
 * - every data packet is ACKed with its id's 0x800 bit cleared; a packet longer than 2048 payload
 *   bytes (its KD_MAX_PAYLOAD) or with a bad checksum is "malformed"; a RESEND from the target
 *   aborts the operation; requests are numbered from 0x80800000, toggling the low bit.
 */

const MAGIC = Buffer.from('MDBG');
const KD_MAX_PAYLOAD = 0x800;
const DATA_LEADER = 0x30303030;
const CONTROL_LEADER = 0x69696969;
export const KD_TYPE = { unused: 0, stateChange64: 7, stateManipulate: 2, acknowledge: 4, resend: 5, reset: 6 } as const;

export interface KdnetKdPacket {
  readonly leader: number;
  readonly type: number;
  readonly id: number;
  readonly payload: Uint8Array;
}

/** radare2's base36_decode + r_write_le64, for keys it accepts. */
export function radare2ControlKey(key: string): Buffer {
  const parts = key.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^[0-9a-z]{1,13}$/.test(p))) throw new Error(`radare2 would not parse key ${key}`);
  const out = Buffer.alloc(32);
  parts.forEach((p, i) => out.writeBigUInt64LE([...p].reduce((v, c) => v * 36n + BigInt(Number.parseInt(c, 36)), 0n), i * 8));
  return out;
}

export class Radare2KdnetWire {
  readonly log = {
    /** Datagrams radare2 would have rejected with "KdNet failed authentication". */
    authFailures: 0,
    /** Control datagrams after the response, which radare2 reads and ignores. */
    ignoredControl: 0,
    resends: 0,
    /** Every KD packet read: `U` unused, `s` state change, `m` manipulate, `a` ACK, `E` RESEND, `R` RESET, `p` other. */
    sequence: [] as string[],
    /** Highest reply payload seen. */
    largestPayload: 0,
  };
  private readonly key: Buffer;
  private readonly hmacKey: Buffer;
  private dataKey: Buffer | undefined;
  private version = 0;
  private target: { address: string; port: number } | undefined;
  private sendSeq = 1;
  private nextId = 0x80800001;
  private readonly packets = new ArrivalQueue<KdnetKdPacket | Error>();

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
    keyText: string,
  ) {
    this.key = radare2ControlKey(keyText);
    this.hmacKey = Buffer.from(this.key.map((b) => ~b & 0xff));
    socket.on('message', (m, from) => this.onDatagram(m, from));
  }

  /** Binds where the KDNET target will poke (127.0.0.1, a free port). */
  static async open(key: string): Promise<Radare2KdnetWire> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new Radare2KdnetWire(socket, socket.address().port, key);
  }

  private hmac(bytes: Uint8Array): Buffer {
    return createHmac('sha256', this.hmacKey).update(bytes).digest().subarray(0, 16);
  }

  private onDatagram(m: Buffer, from: { address: string; port: number }): void {
    if (m.length < 6 || !m.subarray(0, 4).equals(MAGIC)) return this.fail(new Error('KdNet bad magic'));
    const channel = m[5];
    const key = channel === 1 ? this.key : this.dataKey;
    if (key === undefined || (m.length - 22) % 16 !== 0 || m.length < 38) return this.fail(new Error(`radare2 cannot decrypt a datagram of channel ${channel} (${m.length} bytes)`));
    const iv = m.subarray(m.length - 16);
    const decipher = createDecipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
    const plain = Buffer.concat([m.subarray(0, 6), decipher.update(m.subarray(6, m.length - 16)), decipher.final()]);
    if (!this.hmac(plain).equals(iv)) {
      this.log.authFailures += 1;
      return this.fail(new Error('KdNet failed authentication'));
    }
    const word = plain.readBigUInt64BE(6);
    if (channel === 1) {
      if (this.dataKey !== undefined) {
        this.log.ignoredControl += 1;
        return;
      }
      if ((word & 0x80n) !== 0n) return this.fail(new Error('KdNet wrong direction flag'));
      this.target = { address: from.address, port: from.port };
      this.version = m[4];
      const response = Buffer.alloc(322);
      response[0] = 0x01;
      response[1] = 0x02;
      plain.copy(response, 2, 6 + 8 + 2, 6 + 8 + 2 + 32);
      randomBytes(32).copy(response, 34);
      this.send(response, Number(word >> 8n), 1, this.key);
      this.dataKey = createHash('sha256').update(this.key).update(response).digest();
      return;
    }
    const pad = Number(word & 0x0fn);
    let kd = plain.subarray(14, plain.length - pad);
    // An UNUSED packet has no checksum field; radare2 reads the next 4 bytes (padding) as one.
    if (kd.length >= 6 && kd.readUInt16LE(4) === KD_TYPE.unused) kd = plain.subarray(14, Math.min(plain.length, 14 + kd.length + 4));
    if (kd.length === 0) return;
    if (kd.length < 16) return this.fail(new Error(`KdNet out-of-bounds read (a ${kd.length}-byte KD part)`));
    const leader = kd.readUInt32LE(0);
    const type = kd.readUInt16LE(4);
    const length = kd.readUInt16LE(6);
    const id = kd.readUInt32LE(8);
    const checksum = kd.readUInt32LE(12);
    if (leader !== DATA_LEADER && leader !== CONTROL_LEADER && leader !== 0) return this.fail(new Error(`invalid leader 0x${leader.toString(16)}`));
    if (length > KD_MAX_PAYLOAD) return this.fail(new Error(`malformed: a KD packet of ${length} payload bytes (radare2 takes at most ${KD_MAX_PAYLOAD})`));
    if (16 + length > kd.length) return this.fail(new Error('KdNet out-of-bounds read'));
    const payload = kd.subarray(16, 16 + length);
    if (payload.reduce((s, b) => s + b, 0) >>> 0 !== checksum) return this.fail(new Error('malformed: checksum mismatch'));
    this.log.largestPayload = Math.max(this.log.largestPayload, length);
    if (leader === DATA_LEADER) this.sendKd(encodeKd(CONTROL_LEADER, KD_TYPE.acknowledge, id & ~0x800, new Uint8Array(0)));
    this.log.sequence.push(
      leader === 0 ? 'U' : leader === CONTROL_LEADER ? ({ 4: 'a', 5: 'E', 6: 'R' } as Record<number, string>)[type] ?? 'c' : type === 7 ? 's' : type === 2 ? 'm' : 'p',
    );
    this.push({ leader, type, id, payload: Uint8Array.from(payload) });
  }

  private push(item: KdnetKdPacket | Error): void {
    this.packets.push(item);
  }

  private fail(error: Error): void {
    this.push(error);
  }

  private send(body: Uint8Array, sequence: number, channel: number, key: Buffer): void {
    if (this.target === undefined) throw new Error('no target has poked yet');
    const pad = -(body.length + 8) & 0x0f;
    const plain = Buffer.alloc(6 + 8 + body.length + pad);
    MAGIC.copy(plain, 0);
    plain[4] = this.version;
    plain[5] = channel;
    plain.writeBigUInt64BE((BigInt(sequence) << 8n) | 0x80n | BigInt(pad), 6);
    plain.set(body, 14);
    const mac = this.hmac(plain);
    const cipher = createCipheriv('aes-256-cbc', key, mac).setAutoPadding(false);
    const out = Buffer.concat([plain.subarray(0, 6), cipher.update(plain.subarray(6)), cipher.final(), mac]);
    this.socket.send(out, this.target.port, this.target.address);
  }

  /** iob_net_write: one data datagram, numbered by radare2's static counter. */
  private sendKd(kd: Uint8Array): void {
    if (this.dataKey === undefined) throw new Error('no data key yet');
    this.send(kd, this.sendSeq++, 0, this.dataKey);
  }

  /** The next KD packet, or the error radare2 would have stopped on. */
  private async next(timeoutMs: number): Promise<KdnetKdPacket> {
    const item = await this.packets.next(performance.now() + timeoutMs, () => `a KD packet (${timeoutMs} ms); last read ${this.log.sequence.slice(-40).join('')}`);
    if (item instanceof Error) throw item;
    return item;
  }

  /** winkd_wait_packet: the next packet of `type`, skipping at most 10 others (UNUSED not counted); RESEND aborts. */
  async waitFor(type: number, timeoutMs = 15_000): Promise<KdnetKdPacket> {
    let budget = 10;
    for (;;) {
      const p = await this.next(timeoutMs);
      if (p.leader === CONTROL_LEADER && p.type === KD_TYPE.resend) {
        this.log.resends += 1;
        throw new Error('RESEND from the target: radare2 abandons the operation ("malformed packet")');
      }
      if (p.type === type) return p;
      if (p.type !== KD_TYPE.unused && budget-- <= 0) throw new Error(`radare2 gives up: 10 packets that were not of type ${type} (${this.log.sequence.slice(-40).join('')})`);
    }
  }

  /** winkd_sync over KDNET: the connection check (any KD packet), the break-in, then the state change. */
  async sync(timeoutMs = 30_000): Promise<Uint8Array> {
    await this.next(timeoutMs);
    this.sendKd(Uint8Array.of(0x62));
    const stop = await this.waitFor(KD_TYPE.stateChange64, timeoutMs);
    this.nextId = 0x80800001;
    return stop.payload;
  }

  /** A manipulate request as radare2 sends it; the reply's payload after its ACK. */
  async request(payload: Uint8Array, expectReply = true): Promise<Uint8Array | undefined> {
    this.nextId = (this.nextId ^ 1) >>> 0;
    this.sendKd(encodeKd(DATA_LEADER, KD_TYPE.stateManipulate, this.nextId, payload));
    await this.waitFor(KD_TYPE.acknowledge);
    if (!expectReply) return undefined;
    return (await this.waitFor(KD_TYPE.stateManipulate)).payload;
  }

  breakIn(): void {
    this.sendKd(Uint8Array.of(0x62));
  }

  async waitForStop(timeoutMs = 15_000): Promise<Uint8Array> {
    return (await this.waitFor(KD_TYPE.stateChange64, timeoutMs)).payload;
  }

  close(): void {
    this.socket.close();
  }
}

function encodeKd(leader: number, type: number, id: number, payload: Uint8Array): Uint8Array {
  const out = Buffer.alloc(16 + payload.length);
  out.writeUInt32LE(leader, 0);
  out.writeUInt16LE(type, 4);
  out.writeUInt16LE(payload.length, 6);
  out.writeUInt32LE(id >>> 0, 8);
  out.writeUInt32LE(payload.reduce((s, b) => s + b, 0) >>> 0, 12);
  out.set(payload, 16);
  return out;
}
