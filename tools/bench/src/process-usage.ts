import { readFileSync } from 'node:fs';

/** CPU seconds (user + system) a child has used, from /proc (Linux); undefined where unreadable. */
export function childCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    // USER_HZ is 100 on every Linux ABI Node supports.
    return (utime + stime) / 100;
  } catch {
    return undefined;
  }
}

/** A child's resident set high-water mark (VmHWM) in bytes, from /proc (Linux). */
export function childPeakRss(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Samples this process's RSS every few milliseconds while a cell runs. Node reports only a
 * process-lifetime high-water mark (resourceUsage().maxRSS), which says nothing about one cell.
 */
export function startRssSampler(intervalMs = 10): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      const rss = process.memoryUsage.rss();
      return rss > peak ? rss : peak;
    },
  };
}
