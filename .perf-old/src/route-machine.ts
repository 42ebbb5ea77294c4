import { map, scan, type OperatorFunction } from 'rxjs';
import type { RouteEffect } from './route-effect.js';
import type { RouteInput } from './route-input.js';
import { reduceRoute, type RouteStep } from './route-reducer.js';
import type { RouteState } from './route-state.js';

/**
 * The route's reducer as an operator: inputs in, the effects of each out. `route()` does the same
 * with real links; marble tests drive whole scenarios through this in virtual time.
 */
export function routeMachine(initial: RouteState): OperatorFunction<RouteInput, readonly RouteEffect[]> {
  return (inputs$) =>
    inputs$.pipe(
      scan((step: RouteStep, input: RouteInput) => reduceRoute(step.state, input), { state: initial, effects: [] }),
      map((step) => step.effects),
    );
}
