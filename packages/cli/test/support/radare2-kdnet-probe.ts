// Run inside namespace B (10.9.0.2): sends one captured datagram (hex; the poke of a real Windows
// target) to radare2 at 10.9.0.1:50000 every 300 ms, and checks with vmkd's own codec that what
// comes back is a response radare2 authenticated and answered: the probe that tells whether this
// radare2 can be a KDNET peer at all. The answer's bytes go to WORK/response.hex.
import { createSocket } from 'node:dgram';
import { appendFileSync, writeFileSync } from 'node:fs';
import { decodeDatagram, decodePoke, decodeResponse, KdnetChannel, parseKdnetKey } from '@vmkd/kdnet';

const [work, hexText, keyText] = process.argv.slice(2);
const keys = parseKdnetKey(keyText ?? '1.1.1.1');
const poke = Buffer.from(hexText ?? '', 'hex');
const sent = decodeDatagram(poke, (c) => (c === KdnetChannel.Control ? keys.controlKey : undefined), keys.hmacKey);
const nonce = sent.ok ? decodePoke(sent.body)?.nonce : undefined;
const s = createSocket('udp4');
s.bind(50000, '10.9.0.2', () => {
  writeFileSync(`${work}/ready`, '');
  setInterval(() => s.send(poke, 50000, '10.9.0.1'), 300);
});
s.on('message', (m) => {
  appendFileSync(`${work}/response.hex`, `${m.toString('hex')}\n`);
  const got = decodeDatagram(m, (c) => (c === KdnetChannel.Control ? keys.controlKey : undefined), keys.hmacKey);
  if (!got.ok) return console.log('response bad', got.reason, m.length);
  const response = decodeResponse(got.body);
  const echoes = response !== undefined && nonce !== undefined && Buffer.from(response.pokeNonce).equals(Buffer.from(nonce));
  const sameSequence = sent.ok && got.sequence === sent.sequence;
  console.log(echoes && sameSequence ? 'response ok' : 'response wrong', m.length, got.version, got.sequence);
});
