import { scan, type OperatorFunction } from 'rxjs';
import type { KdPacket } from '@vmkd/kd-protocol';
import type { Direction } from './direction.js';
import { isStateChange, resumesTarget } from './kd-peek.js';

/**
 * What the router believes about the target, from the packets that pass through it:
 * - `unknown`: nothing seen yet (or the guest just came back);
 * - `stopped`: a STATE_CHANGE64 went guest→debugger and no Continue has followed;
 * - `running`: the debugger sent Continue/ContinueApi2 (or SwitchProcessor, Reboot, CauseBugCheck:
 *   a new stop follows) after the last state change.
 */
export type TargetRunState = 'unknown' | 'running' | 'stopped';

export interface TargetTracking {
  readonly state: TargetRunState;
  /** The guest is attached (false between a guest disconnect and its next connect). */
  readonly present: boolean;
  /** The state change a reconnecting debugger must be given; set only while `state` is `stopped`. */
  readonly lastStateChange: KdPacket | undefined;
}

export type TrackingInput =
  | { readonly dir: Direction; readonly packet: KdPacket }
  | { readonly guest: 'gone' | 'back' };

export const initialTracking: TargetTracking = { state: 'unknown', present: true, lastStateChange: undefined };

/** Pure reducer: the next belief after one packet or guest presence change. */
export function trackTarget(previous: TargetTracking, input: TrackingInput): TargetTracking {
  if ('guest' in input) {
    // Whatever the target was doing, a vanished or freshly returned guest has no known state.
    return { state: 'unknown', present: input.guest === 'back', lastStateChange: undefined };
  }
  if (input.dir === 'guest→debugger' && isStateChange(input.packet)) {
    return { ...previous, state: 'stopped', lastStateChange: input.packet };
  }
  if (input.dir === 'debugger→guest' && resumesTarget(input.packet)) {
    return { ...previous, state: 'running', lastStateChange: undefined };
  }
  return previous;
}

/** The reducer as an operator, for pipelines and marble tests. */
export function targetTracking(initial: TargetTracking = initialTracking): OperatorFunction<TrackingInput, TargetTracking> {
  return scan(trackTarget, initial);
}
