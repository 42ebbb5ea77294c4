import { describe, expect, it, vi } from 'vitest';
import { startProgress } from './progress.js';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, isTTY, write: (text: string) => writes.push(text) };
}

describe('startProgress', () => {
  it('shows nothing for work that ends within a second', () => {
    vi.useFakeTimers();
    try {
      const s = stream(true);
      const progress = startProgress(s, 'reading');
      vi.advanceTimersByTime(999);
      progress.done();
      vi.advanceTimersByTime(5000);
      expect(s.writes).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('spins on a terminal after a second and clears its line when done', () => {
    vi.useFakeTimers();
    try {
      const s = stream(true);
      let now = 0;
      const progress = startProgress(s, 'reading', { now: () => now });
      now = 1000;
      vi.advanceTimersByTime(1000);
      now = 1200;
      vi.advanceTimersByTime(200);
      progress.done('read 16 KiB');
      expect(s.writes[0]).toBe('\r\x1b[2K⠋ reading 1.0 s');
      expect(s.writes).toContain('\r\x1b[2K⠹ reading 1.2 s');
      expect(s.writes.slice(-2)).toEqual(['\r\x1b[2K', 'read 16 KiB\n']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes plain lines when not on a terminal', () => {
    vi.useFakeTimers();
    try {
      const s = stream(false);
      const progress = startProgress(s, 'reading');
      vi.advanceTimersByTime(1500);
      progress.update('verifying');
      progress.done();
      expect(s.writes).toEqual(['reading …\n', 'verifying …\n']);
    } finally {
      vi.useRealTimers();
    }
  });
});
