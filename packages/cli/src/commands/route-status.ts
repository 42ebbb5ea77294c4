import type { RouteEvent, RouteStats } from '@vmkd/router';
import type { Style } from '../output/style.js';

/** What the status lines depend on besides the event itself. */
export interface RouteStatusContext {
  /** Whether a debugger is attached to the endpoint now: "the debugger was told" needs one. */
  readonly debuggerAttached: boolean;
}

/** A status line for the live events worth a human's attention (packets are left to --trace). */
export function describeRouteEvent(event: RouteEvent, style: Style, context: RouteStatusContext = { debuggerAttached: true }): string | undefined {
  switch (event.kind) {
    case 'link': {
      const who = event.side === 'guest' ? 'guest' : 'debugger';
      switch (event.event) {
        case 'connect':
          return style.green(`${who} connected${event.peer === undefined ? '' : ` (${event.peer})`}`);
        case 'disconnect':
          return style.yellow(`${who} disconnected${event.error === undefined ? '' : `: ${event.error.message}`}`);
        case 'reset':
          return style.dim(`${who} resynchronised (RESET)`);
        case 'breakin':
          return style.dim('break-in from the debugger');
      }
      return undefined;
    }
    case 'target-gone':
      if (!context.debuggerAttached) return style.red('target gone: the guest vanished (no debugger attached)');
      return style.red(`target gone: the guest vanished; the debugger was told${event.failedRequest ? ' and its pending request failed' : ''}`);
    case 'target-back':
      return style.green('target back');
    case 'dropped':
      return style.yellow(`dropped a ${event.typeName} packet (${event.dir}, ${event.reason})`);
    case 'send-failed':
      return style.yellow(`could not deliver ${event.typeName} (${event.dir}): ${event.error.message}`);
    case 'guest-error':
      return style.red(`guest ${event.operation} failed: ${event.error.message}`);
    case 'suppressed':
      return undefined; // by design, and counted in the stats; --trace has each one
    case 'summary': {
      const what = event.event === 'breakin' ? 'break-ins' : 'RESETs';
      const who = event.side === 'guest' ? 'from the guest' : 'from the debugger';
      return style.dim(`${event.count} ${what} ${who} in ${(event.ms / 1000).toFixed(1)} s (shown once)`);
    }
    case 'debugger-refused': {
      if (event.holder === undefined) return style.yellow(`debugger ${event.peer} refused: another debugger is attached; one debugger at a time`);
      const since = event.heldMs === undefined ? '' : ` since ${new Date(event.t - event.heldMs).toISOString().slice(11, 19)} UTC (${(event.heldMs / 1000).toFixed(1)} s)`;
      return style.yellow(`debugger ${event.peer} refused: debugger ${event.holder} is attached${since}; one debugger at a time`);
    }
    case 'route-closed':
    case 'packet':
      return undefined;
  }
}

const ms = (value: number | undefined): string => (value === undefined ? '–' : `${value.toFixed(value < 10 ? 2 : 1)} ms`);

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** The statistics block printed when a route stops. */
export function formatRouteStats(stats: RouteStats, seconds: number): string {
  const g2d = stats.directions['guest→debugger'];
  const d2g = stats.directions['debugger→guest'];
  const lines = [
    `route stats after ${seconds.toFixed(1)} s:`,
    `  guest→debugger  ${g2d.packets} packets, ${bytes(g2d.bytes)}${g2d.dropped + g2d.failed > 0 ? `, ${g2d.dropped} dropped, ${g2d.failed} failed` : ''}${g2d.held > 0 ? `, ${g2d.held} held for a slow debugger (at most ${g2d.heldHighWater} at once)` : ''}`,
    `  debugger→guest  ${d2g.packets} packets, ${bytes(d2g.bytes)}${d2g.dropped + d2g.failed > 0 ? `, ${d2g.dropped} dropped, ${d2g.failed} failed` : ''}`,
    `  requests        ${stats.requestLatencyMs.count} (latency p50 ${ms(stats.requestLatencyMs.p50Ms)}, p99 ${ms(stats.requestLatencyMs.p99Ms)})`,
    `  link            ${stats.resends} resends, ${stats.resyncs} resyncs, ${stats.breakins} break-ins`,
    `  debuggers       ${stats.debuggerConnects} connects, ${stats.replays} state replays, ${stats.duplicateStops} repeated stops held back, ${stats.refusals} refused; target gone ${stats.targetGone}×`,
  ];
  if (stats.trace !== undefined) {
    lines.push(`  trace           ${stats.trace.records} records, ${bytes(stats.trace.bytes)}${stats.trace.dropped > 0 ? `, ${stats.trace.dropped} dropped` : ''}`);
  }
  return lines.join('\n');
}
