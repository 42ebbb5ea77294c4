import { KdApi } from '@vmkd/kd-protocol';

/**
 * The fast path's state as a pure reducer: whether the target is stopped, whether the source is
 * trusted for this stop, and the counters. The link shell (fast-path-link.ts) feeds it what it
 * sees on the wire and performs the effects.
 */
export interface FastPathStats {
  /** Bytes of ReadVirtual/ReadPhysical replies built from the memory source. */
  readonly bytesFromSource: number;
  /** Bytes of read replies that came from the guest through KD. */
  readonly bytesThroughKd: number;
  readonly readsFromSource: number;
  readonly readsThroughKd: number;
  /** SearchMemory requests answered from the source, and the bytes they scanned there. */
  readonly searchesFromSource: number;
  readonly bytesSearched: number;
  /** SearchMemory requests the guest answered (not trusted at this stop, or the scan met memory only the guest can judge). */
  readonly searchesThroughKd: number;
  /** Requests the source could not serve (a page not present on the host walk, a hole) that went to KD. */
  readonly fallbacks: number;
  readonly validationsPassed: number;
  readonly validationsFailed: number;
  /** Times cached translations were dropped (a resume, a write, a context or control-space change). */
  readonly invalidations: number;
}

export interface FastPathState {
  readonly target: 'unknown' | 'running' | 'stopped';
  /** Validation of the current stop is in flight: the debugger's read that started it, and anything sent after it, wait. */
  readonly validating: boolean;
  /** This stop has been validated (passed or failed) or cannot be: no further validation until the next stop. */
  readonly validated: boolean;
  /** The source matched KD at this stop; reads may be served from it. */
  readonly trusted: boolean;
  /** Why the fast path is off (the last validation's mismatch), until a later validation passes. */
  readonly disabledReason: string | undefined;
  readonly stats: FastPathStats;
}

export type FastPathEvent =
  /** The guest reported a stop (a state change); `checkable` when it is one the link can validate. */
  | { readonly kind: 'stop'; readonly checkable: boolean }
  /** The shell starts reading the known structures both ways (at the first read of a stop). */
  | { readonly kind: 'validation-started' }
  | { readonly kind: 'validated'; readonly ok: true }
  | { readonly kind: 'validated'; readonly ok: false; readonly reason: string }
  /** The debugger sent a manipulate request on to the guest. */
  | { readonly kind: 'forwarded'; readonly apiNumber: number }
  /** A read reply went to the debugger, from the source or from KD. */
  | { readonly kind: 'served'; readonly from: 'source' | 'kd'; readonly bytes: number }
  /** A SearchMemory reply went to the debugger: from the source (having scanned `bytes` there) or from KD. */
  | { readonly kind: 'searched'; readonly from: 'source' | 'kd'; readonly bytes: number }
  | { readonly kind: 'fallback' }
  /** The guest link lost its peer. */
  | { readonly kind: 'disconnect' };

export type FastPathEffect =
  /** Drop cached translations (and CR3s when `cr3` is set). */
  | { readonly kind: 'invalidate'; readonly cr3: boolean }
  /** Tell the user (stderr, the trace). */
  | { readonly kind: 'notice'; readonly level: 'info' | 'warn'; readonly text: string }
  /** A moment worth a trace record with the counters as they now are: a validation's outcome, the end of a stop. */
  | { readonly kind: 'report'; readonly event: FastPathReportEvent; readonly reason?: string };

/** `validated` / `disabled`: a stop's validation passed or failed; `resumed`: the stop ended (the target runs). */
export type FastPathReportEvent = 'validated' | 'disabled' | 'resumed';

export interface FastPathStep {
  readonly state: FastPathState;
  readonly effects: readonly FastPathEffect[];
}

export const initialFastPathState: FastPathState = {
  target: 'unknown',
  validating: false,
  validated: false,
  trusted: false,
  disabledReason: undefined,
  stats: {
    bytesFromSource: 0,
    bytesThroughKd: 0,
    readsFromSource: 0,
    readsThroughKd: 0,
    searchesFromSource: 0,
    bytesSearched: 0,
    searchesThroughKd: 0,
    fallbacks: 0,
    validationsPassed: 0,
    validationsFailed: 0,
    invalidations: 0,
  },
};

/** APIs the source may answer (spec 2.2): the reads, and SearchMemory (a read the target does for the debugger). */
export const SOURCE_READ_APIS: ReadonlySet<number> = new Set([KdApi.ReadVirtualMemory, KdApi.ReadPhysicalMemory, KdApi.SearchMemory]);
const RESUME_APIS: ReadonlySet<number> = new Set([KdApi.Continue, KdApi.ContinueApi2, KdApi.Reboot, KdApi.CauseBugCheck]);
/** Requests that change what a read sees or how addresses translate; everything else leaves the cache alone. */
const READ_ONLY_APIS: ReadonlySet<number> = new Set([
  KdApi.ReadVirtualMemory,
  KdApi.ReadPhysicalMemory,
  KdApi.ReadControlSpace,
  KdApi.GetContext,
  KdApi.GetContextEx,
  KdApi.GetVersion,
  KdApi.ReadIoSpace,
  KdApi.ReadIoSpaceExtended,
  KdApi.ReadMachineSpecificRegister,
  KdApi.SearchMemory,
  KdApi.QueryMemory,
  KdApi.GetBusData,
]);
/** Changes that may move CR3/CR4 (a new context, control space, a switch to another CPU). */
const PAGING_APIS: ReadonlySet<number> = new Set([KdApi.SetContext, KdApi.SetContextEx, KdApi.WriteControlSpace, KdApi.SwitchProcessor, KdApi.WriteMachineSpecificRegister]);

const counted = (state: FastPathState, patch: Partial<FastPathStats>): FastPathState => ({ ...state, stats: { ...state.stats, ...patch } });

export function reduceFastPath(state: FastPathState, event: FastPathEvent): FastPathStep {
  const s = state.stats;
  switch (event.kind) {
    case 'stop':
      // Every stop is validated afresh (the guest ran, or was replaced, since the last check), at
      // its first read; a stop the link cannot check is never trusted.
      return {
        state: counted({ ...state, target: 'stopped', validating: false, validated: !event.checkable, trusted: false }, { invalidations: s.invalidations + 1 }),
        effects: [{ kind: 'invalidate', cr3: true }],
      };
    case 'validation-started':
      return { state: { ...state, validating: true }, effects: [] };
    case 'validated': {
      if (event.ok) {
        const effects: FastPathEffect[] = [];
        if (state.disabledReason !== undefined || s.validationsPassed === 0) {
          effects.push({ kind: 'notice', level: 'info', text: state.disabledReason === undefined ? 'memory fast path validated: reads are served from the memory source while the target is stopped' : 'memory fast path validated again: reads are served from the memory source' });
        }
        effects.push({ kind: 'report', event: 'validated' });
        return { state: counted({ ...state, validating: false, validated: true, trusted: true, disabledReason: undefined }, { validationsPassed: s.validationsPassed + 1 }), effects };
      }
      return {
        state: counted({ ...state, validating: false, validated: true, trusted: false, disabledReason: event.reason }, { validationsFailed: s.validationsFailed + 1 }),
        effects: [
          { kind: 'notice', level: 'warn', text: `memory fast path disabled: ${event.reason}; reads go through KD` },
          { kind: 'report', event: 'disabled', reason: event.reason },
        ],
      };
    }
    case 'forwarded': {
      if (RESUME_APIS.has(event.apiNumber)) {
        const effects: FastPathEffect[] = [{ kind: 'invalidate', cr3: true }];
        if (state.target === 'stopped') effects.push({ kind: 'report', event: 'resumed' });
        return { state: counted({ ...state, target: 'running', trusted: false, validated: false }, { invalidations: s.invalidations + 1 }), effects };
      }
      if (READ_ONLY_APIS.has(event.apiNumber)) return { state, effects: [] };
      return { state: counted(state, { invalidations: s.invalidations + 1 }), effects: [{ kind: 'invalidate', cr3: PAGING_APIS.has(event.apiNumber) }] };
    }
    case 'served':
      return event.from === 'source'
        ? { state: counted(state, { bytesFromSource: s.bytesFromSource + event.bytes, readsFromSource: s.readsFromSource + 1 }), effects: [] }
        : { state: counted(state, { bytesThroughKd: s.bytesThroughKd + event.bytes, readsThroughKd: s.readsThroughKd + 1 }), effects: [] };
    case 'searched':
      return event.from === 'source'
        ? { state: counted(state, { searchesFromSource: s.searchesFromSource + 1, bytesSearched: s.bytesSearched + event.bytes }), effects: [] }
        : { state: counted(state, { searchesThroughKd: s.searchesThroughKd + 1 }), effects: [] };
    case 'fallback':
      return { state: counted(state, { fallbacks: s.fallbacks + 1 }), effects: [] };
    case 'disconnect':
      return { state: { ...state, target: 'unknown', validating: false, validated: false, trusted: false }, effects: [{ kind: 'invalidate', cr3: true }] };
  }
}

/**
 * Where a debugger's manipulate request goes now: the source (trusted at this stop), the guest, or
 * `validate`: the first read of a stop, which waits while the shell validates the source.
 */
export function requestRoute(state: FastPathState, apiNumber: number): 'source' | 'guest' | 'validate' {
  if (state.target !== 'stopped' || state.validating || !SOURCE_READ_APIS.has(apiNumber)) return 'guest';
  if (state.trusted) return 'source';
  return state.validated ? 'guest' : 'validate';
}

/**
 * One line for status output: `memory fast path: 310 hits (12.0 MiB from the source), 1 miss
 * (4.0 KiB through KD), 0 fallbacks; 2 searches from the source (1.0 MiB scanned), 0 through KD;
 * validations 1 passed, 0 failed`. A hit is a read the source answered, a miss one the guest did
 * (a fallback is a miss the source was asked first).
 */
export function formatFastPathStats(stats: FastPathStats): string {
  const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
  const searches =
    stats.searchesFromSource + stats.searchesThroughKd === 0
      ? ''
      : `; ${plural(stats.searchesFromSource, 'search', 'searches')} from the source (${formatBytes(stats.bytesSearched)} scanned), ${stats.searchesThroughKd} through KD`;
  return (
    `memory fast path: ${plural(stats.readsFromSource, 'hit', 'hits')} (${formatBytes(stats.bytesFromSource)} from the source), ` +
    `${plural(stats.readsThroughKd, 'miss', 'misses')} (${formatBytes(stats.bytesThroughKd)} through KD), ${plural(stats.fallbacks, 'fallback', 'fallbacks')}${searches}; ` +
    `validations ${stats.validationsPassed} passed, ${stats.validationsFailed} failed`
  );
}

function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} bytes`;
}
