import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { KdPacket } from '@vmkd/kd-protocol';
import { targetTracking, type TrackingInput } from './target-state.js';

function manipulate(api: number): KdPacket {
  const payload = new Uint8Array(56);
  new DataView(payload.buffer).setUint32(0, api, true);
  return { type: 2, payload };
}
const stateChange: KdPacket = { type: 7, payload: new Uint8Array(240) };
const print: KdPacket = { type: 3, payload: new Uint8Array(16) };

describe('targetTracking', () => {
  it('goes stopped on a state change and running on Continue / ContinueApi2', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ hot, expectObservable }) => {
      const inputs: Record<string, TrackingInput> = {
        s: { dir: 'guest→debugger', packet: stateChange },
        r: { dir: 'debugger→guest', packet: manipulate(0x3130) }, // ReadVirtualMemory: still stopped
        c: { dir: 'debugger→guest', packet: manipulate(0x3136) }, // Continue
        d: { dir: 'guest→debugger', packet: print }, // DbgPrint while running
        k: { dir: 'debugger→guest', packet: manipulate(0x313c) }, // ContinueApi2
        g: { guest: 'gone' },
        b: { guest: 'back' },
      };
      const states = hot('srcdsk-sgb', inputs).pipe(targetTracking());
      const S = { state: 'stopped', present: true, lastStateChange: stateChange };
      const R = { state: 'running', present: true, lastStateChange: undefined };
      const G = { state: 'unknown', present: false, lastStateChange: undefined };
      const B = { state: 'unknown', present: true, lastStateChange: undefined };
      expectObservable(states).toBe('SSRRSR-SGB', { S, R, G, B });
    });
  });

  it('ignores a state change that travels debugger→guest and a continue that travels guest→debugger', () => {
    new TestScheduler((a, e) => expect(a).toEqual(e)).run(({ hot, expectObservable }) => {
      const inputs: Record<string, TrackingInput> = {
        x: { dir: 'debugger→guest', packet: stateChange },
        y: { dir: 'guest→debugger', packet: manipulate(0x3136) },
      };
      const U = { state: 'unknown', present: true, lastStateChange: undefined };
      expectObservable(hot('xy', inputs).pipe(targetTracking())).toBe('UU', { U });
    });
  });
});
