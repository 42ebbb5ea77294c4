import { describe, expect, it } from 'vitest';
import { createProgressBar } from './progress.js';

function sink(isTTY: boolean): { text: () => string; write(t: string): void; isTTY: boolean; columns: number } {
  let out = '';
  return { isTTY, columns: 100, write: (t: string) => void (out += t), text: () => out };
}

describe('progress bar', () => {
  it('redraws in place on a terminal, throttled, and clears at the end', () => {
    let now = 0;
    const s = sink(true);
    const bar = createProgressBar(s, { now: () => now });
    bar.update(0.25, 'serial-unix/direct read');
    bar.update(0.3, 'ignored: within 100 ms');
    now = 200;
    bar.update(0.5, 'kdrpc-vmx/direct attach');
    bar.log('a finished cell');
    bar.done();
    const out = s.text();
    expect(out).toContain('25% ');
    expect(out).not.toContain('ignored');
    expect(out).toContain('[###############...............]  50%');
    expect(out).toContain('a finished cell\n');
    expect(out.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('writes only logged lines to a pipe', () => {
    const s = sink(false);
    const bar = createProgressBar(s);
    bar.update(0.5, 'x');
    bar.log('line one');
    bar.done();
    expect(s.text()).toBe('line one\n');
  });
});
