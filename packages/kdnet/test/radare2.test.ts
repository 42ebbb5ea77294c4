import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSimTarget } from '@vmkd/sim-target';
import { describe, expect, it } from 'vitest';
import { radare2Unavailable, runInNamespaces } from './radare2-ns.js';

const unavailable = radare2Unavailable();
const MIB = 1024 * 1024;

describe.skipIf(unavailable !== undefined)(`radare2 as the KDNET debugger${unavailable === undefined ? '' : ` (skipped: ${unavailable})`}`, () => {
  const sim = createSimTarget({ cpus: 1, printIntervalMs: 0 });
  const base = sim.layout.dataRegion.virtualBase;
  sim.close();

  it.each(['direct', 'route'])('%s: r2 attaches over UDP, lists processes and dumps 1 MiB that matches vmkd’s own read', (mode) => {
    const work = mkdtempSync(join(tmpdir(), 'vmkd-r2-kdnet-'));
    try {
      const key = 'r2.kdnet.vmkd.test';
      const port = 50000;
      const script = fileURLToPath(new URL('./radare2-target.mjs', import.meta.url));
      const target = `cd ${JSON.stringify(fileURLToPath(new URL('..', import.meta.url)))} && ${process.execPath} --import tsx --conditions=@vmkd/source ${script} ${work} ${key} ${port} ${base} ${MIB} ${mode}`;
      const debuggerCmd = `r2 -e scr.color=0 -e dbg.bpinmaps=false -a x86 -b 64 -D winkd -q -c 'dp; wtf ${work}/r2.bin ${MIB} @ ${base}' winkd://10.9.0.2:${port}:${key}`;
      runInNamespaces({ WORK: work, TARGET_CMD: target, DEBUGGER_CMD: `timeout 240 ${debuggerCmd}` }, 300_000);
      const r2out = readFileSync(join(work, 'r2.out'), 'utf8');
      const r2err = readFileSync(join(work, 'r2.err'), 'utf8');
      const context = `r2 stdout:\n${r2out}\nr2 stderr:\n${r2err}\ntarget:\n${readFileSync(join(work, 'target.log'), 'utf8')}`;
      expect(r2out, context).toMatch(/System/);
      const dumped = readFileSync(join(work, 'r2.bin'));
      const expected = readFileSync(join(work, 'expected.bin'));
      expect(dumped.length, context).toBe(MIB);
      expect(dumped.equals(expected), context).toBe(true);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
