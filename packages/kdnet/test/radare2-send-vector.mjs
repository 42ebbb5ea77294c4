// Sends one captured datagram (hex) from 10.9.0.2:50000 to radare2 at 10.9.0.1:50000 every 300 ms:
// the probe that tells whether this radare2 can authenticate a real Windows KDNET datagram.
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
const [work, hexText] = process.argv.slice(2);
const s = createSocket('udp4');
s.bind(50000, '10.9.0.2', () => {
  writeFileSync(`${work}/ready`, '');
  setInterval(() => s.send(Buffer.from(hexText, 'hex'), 50000, '10.9.0.1'), 300);
});
s.on('message', (m) => console.log('got', m.length, m.subarray(0, 6).toString('hex')));
