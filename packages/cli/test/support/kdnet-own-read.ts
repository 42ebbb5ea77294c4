// Run inside namespace A after radare2 has left: vmkd's own KD debugger attaches to the same KDNET
// target (it listens where radare2 was, and the target's next poke brings it in) and reads what
// radare2 dumped, for the byte-for-byte comparison. Args: URI BASE LENGTH OUT.
import { writeFileSync } from 'node:fs';
import { connectDebugger } from '@vmkd/connect';

const [uri = '', base = '0', length = '0', out = 'vmkd.bin'] = process.argv.slice(2);
const connection = await connectDebugger(uri, { allowRemote: true, timeoutMs: 20_000 });
await connection.session.attach({ timeoutMs: 60_000 });
const read = await connection.session.readVirtual(BigInt(base), Number(length));
writeFileSync(out, read.data);
console.log('vmkd read', read.data.length);
await connection.close();
process.exit(0);
