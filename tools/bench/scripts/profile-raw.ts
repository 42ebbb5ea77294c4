/** The raw same-pattern Unix-socket limit alone, for `node --cpu-prof` (compare with profile-cell.ts). */
import { measureRawLimit } from '../src/raw-limit.js';
const r = await measureRawLimit({ socket: 'unix', roundTrips: 50000 });
console.log((r.payloadRate.p50 / 1e6).toFixed(1), 'MB/s', r.cpuSecondsPerMiB);
