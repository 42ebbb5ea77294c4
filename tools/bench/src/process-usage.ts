import { readFileSync, writeFileSync } from 'node:fs';

/** Resets this process's VmHWM (Linux ≥ 4.0, `5` to clear_refs); false where that is not possible. */
function resetPeakRss(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

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
 * This process's peak RSS while a cell runs. On Linux the kernel keeps the high-water mark
 * (VmHWM) and resets it when `5` is written to /proc/self/clear_refs, so the peak costs nothing
 * while the cell runs. Elsewhere (or if the reset is refused) RSS is sampled every 100 ms: a
 * sampler at 10 ms took 6 % of the event loop's busy time in a profile of a routed cell (each
 * read of RSS is a /proc read), which the cells it measured then lacked.
 */
export function startRssSampler(intervalMs = 100): { stop(): number } {
  if (resetPeakRss()) {
    return {
      stop() {
        const rss = process.memoryUsage.rss();
        const hwm = childPeakRss(process.pid);
        return hwm === undefined || hwm < rss ? rss : hwm;
      },
    };
  }
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
