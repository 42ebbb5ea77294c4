/**
 * KDCOM framing throughput: checksum, encode, decode and encode+decode of 4000-byte data frames,
 * plus one KDCOM link pair over an in-memory byte pair (stop-and-wait, ACK per packet).
 *
 *   npm run bench -w @vmkd/kd-protocol
 */
import { KdcomFrameDecoder, createKdcomLink, createMemoryBytePair, encodeDataFrame, kdChecksum } from '../src/index.js';

const PAYLOAD = 4000;
const FRAME = PAYLOAD + 17;
const payload = Uint8Array.from({ length: PAYLOAD }, (_, i) => (i * 7 + 3) & 0xff);

interface Result {
  name: string;
  mbPerS: number;
  framesPerS?: number;
}
const results: Result[] = [];

/** Run `round` until `minMs` have passed (after a warm-up); returns seconds and rounds. */
function measure(round: () => void, minMs = 1500): { seconds: number; rounds: number } {
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) round();
  let rounds = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    round();
    rounds++;
    now = performance.now();
  }
  return { seconds: (now - start) / 1000, rounds };
}

function report(name: string, bytes: number, frames: number | undefined, seconds: number): void {
  const r: Result = { name, mbPerS: bytes / seconds / 1e6 };
  if (frames !== undefined) r.framesPerS = frames / seconds;
  results.push(r);
}

// Checksum
{
  let sink = 0;
  const { seconds, rounds } = measure(() => {
    for (let i = 0; i < 100; i++) sink ^= kdChecksum(payload);
  });
  if (sink === -1) console.error(sink);
  report('checksum (4000-byte payload)', rounds * 100 * PAYLOAD, undefined, seconds);
}

// Encode
const BATCH = 256;
{
  let id = 0x80800000;
  const { seconds, rounds } = measure(() => {
    for (let i = 0; i < BATCH; i++) encodeDataFrame(2, (id ^= 1), payload);
  });
  report('encode 4000-byte data frames', rounds * BATCH * FRAME, rounds * BATCH, seconds);
}

// Decode: a stream of frames in chunks of a given size.
function decodeBench(label: string, chunkSize: number): void {
  const stream = new Uint8Array(FRAME * BATCH);
  for (let i = 0; i < BATCH; i++) stream.set(encodeDataFrame(2, 0x80800000 | (i & 1), payload), i * FRAME);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < stream.length; at += chunkSize) chunks.push(stream.subarray(at, at + chunkSize));
  let frames = 0;
  const decoder = new KdcomFrameDecoder((e) => {
    if (e.kind === 'data') frames++;
    else throw new Error(`unexpected ${e.kind}`);
  });
  const { seconds, rounds } = measure(() => {
    for (const c of chunks) decoder.push(c);
  });
  if (frames % BATCH !== 0 || frames < rounds * BATCH) throw new Error('lost frames');
  report(`decode, ${label}`, rounds * BATCH * FRAME, rounds * BATCH, seconds);
}
decodeBench('one frame per chunk', FRAME);
decodeBench('64 KiB chunks (frames split across chunks)', 65536);
decodeBench('1000-byte chunks (every frame split)', 1000);

// Encode + decode
{
  let frames = 0;
  const decoder = new KdcomFrameDecoder((e) => {
    if (e.kind === 'data') frames++;
  });
  let id = 0x80800000;
  const { seconds, rounds } = measure(() => {
    for (let i = 0; i < BATCH; i++) decoder.push(encodeDataFrame(2, (id ^= 1), payload));
  });
  if (frames < rounds * BATCH) throw new Error('lost frames');
  report('encode + decode 4000-byte data frames', rounds * BATCH * FRAME, rounds * BATCH, seconds);
}

// A KDCOM link pair: send() resolves on ACK, one packet in flight (what a relay hop costs).
{
  const [a, b] = createMemoryBytePair();
  const sender = createKdcomLink(a, { role: 'target-facing' });
  const receiver = createKdcomLink(b, { role: 'debugger-facing' });
  let got = 0;
  receiver.events$.subscribe((e) => {
    if (e.kind === 'packet') got++;
  });
  const packet = { type: 2, payload };
  const start = performance.now();
  const count = 20_000;
  for (let i = 0; i < count; i++) await sender.send(packet);
  const seconds = (performance.now() - start) / 1000;
  if (got !== count) throw new Error(`delivered ${got} of ${count}`);
  report('KDCOM link pair over memory (send → ACK)', count * PAYLOAD, count, seconds);
  await sender.close();
  await receiver.close();
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
console.log('| benchmark | MB/s | frames/s |');
console.log('|---|---:|---:|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.mbPerS.toFixed(0)} | ${r.framesPerS === undefined ? '' : Math.round(r.framesPerS).toLocaleString('en-US')} |`);
}
