// Sums a .cpuprofile's self time by package (router, kd-protocol, byte-links, …), GC, idle and Node.
// Usage: node profile-by-package.mjs file.cpuprofile
import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const dt = new Map();
for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
const by = new Map();
let total = 0;
for (const node of p.nodes) {
  const t = dt.get(node.id) ?? 0;
  total += t;
  const { url, functionName } = node.callFrame;
  let key;
  const m = /\/(packages|tools)\/([^/]+)\/(?:src|dist)\/(?:([^/]+)\/)?/.exec(url);
  if (m) key = `${m[2]}${m[3] && !m[3].includes('.') ? `/${m[3]}` : ''}`;
  else if (url.includes('node_modules/')) key = url.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+).*$/, '$1');
  else if (url.startsWith('node:')) key = 'node internals';
  else key = functionName.startsWith('(') ? functionName : `native: ${functionName || '(anon)'}`;
  by.set(key, (by.get(key) ?? 0) + t);
}
const busy = total - (by.get('(idle)') ?? 0);
console.log(`total ${(total / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms`);
for (const [k, t] of [...by.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] ?? 25))) {
  console.log(`${((100 * t) / busy).toFixed(1).padStart(5)}% of busy  ${(t / 1000).toFixed(0).padStart(6)} ms  ${k}`);
}
