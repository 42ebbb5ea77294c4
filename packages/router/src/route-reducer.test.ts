import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { KdPacketType, type KdPacket } from '@vmkd/kd-protocol';
import type { RouteEffect } from './route-effect.js';
import type { RouteInput } from './route-input.js';
import { routeMachine } from './route-machine.js';
import { initialRouteState, type RouteConfig } from './route-state.js';

const config: RouteConfig = { queueBound: 8, holdBound: 16, resyncGuestOnReturn: true, noticeWindowMs: 1000 };

function manipulate(api: number, status = 0): KdPacket {
  const payload = new Uint8Array(56);
  const view = new DataView(payload.buffer);
  view.setUint32(0, api, true);
  view.setUint32(8, status, true);
  return { type: KdPacketType.StateManipulate, payload };
}
const stop: KdPacket = { type: KdPacketType.StateChange64, payload: new Uint8Array(240).fill(1, 0, 4) };
const otherStop: KdPacket = { type: KdPacketType.StateChange64, payload: new Uint8Array(240).fill(2, 0, 4) };
const getVersion = manipulate(0x3146);
const reply = manipulate(0x3146);
const resume = manipulate(0x313c); // ContinueApi2
const print: KdPacket = { type: KdPacketType.DebugIo, payload: new Uint8Array(32).fill(0x30, 0, 1) };

/**
 * One letter per effect worth asserting, so a whole scenario reads as one marble line:
 * `D`/`G` a send toward the debugger/guest (then s = state change, m = manipulate, ! = a failed
 * reply the router made, p = print), B break-in to the guest, R guest RESET, +/- debugger presence,
 * then selected records: ~ suppressed, x target gone, y target back, d dropped.
 */
function letters(effects: readonly RouteEffect[]): string {
  let out = '';
  for (const effect of effects) {
    switch (effect.kind) {
      case 'send': {
        const { packet } = effect;
        const kind =
          packet.type === KdPacketType.StateChange64
            ? 's'
            : packet.type === KdPacketType.StateManipulate
              ? new DataView(packet.payload.buffer).getUint32(8, true) === 0
                ? 'm'
                : '!'
              : 'p';
        out += `${effect.dir === 'guest→debugger' ? 'D' : 'G'}${kind}${effect.seq}`;
        break;
      }
      case 'guest-breakin':
        out += 'B';
        break;
      case 'guest-resync':
        out += 'R';
        break;
      case 'debugger-present':
        out += effect.present ? '+' : '-';
        break;
      case 'record':
        if (effect.record.kind === 'suppressed') out += '~';
        if (effect.record.kind === 'target-gone') out += 'x';
        if (effect.record.kind === 'target-back') out += 'y';
        if (effect.record.kind === 'dropped') out += 'd';
        if (effect.record.kind === 'summary') out += `#${effect.record.count}`;
        break;
      default:
        break;
    }
  }
  return out === '' ? '.' : out;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type InputWithoutTime = DistributiveOmit<RouteInput, 'at'>;

/** Runs a scenario: `marbles` over `inputs`, expecting `expected` over the letters of each step's effects. */
function scenario(
  marbles: string,
  inputs: Record<string, InputWithoutTime>,
  expected: Record<string, string>,
  configPatch: Partial<RouteConfig> = {},
  start: { guestPresent?: boolean } = {},
): void {
  const scheduler = new TestScheduler((actual, wanted) => expect(actual).toEqual(wanted));
  scheduler.run(({ cold, expectObservable }) => {
    const effects$ = cold(marbles, inputs).pipe(
      map((input) => ({ ...input, at: scheduler.now() })),
      routeMachine(initialRouteState({ ...config, ...configPatch }, start)),
      map(letters),
    );
    expectObservable(effects$).toBe(marbles, expected);
  });
}

const g = (packet: KdPacket): InputWithoutTime => ({ kind: 'packet', side: 'guest', packet });
const d = (packet: KdPacket): InputWithoutTime => ({ kind: 'packet', side: 'endpoint', packet });
const link = (side: 'guest' | 'endpoint', event: 'connect' | 'disconnect' | 'reset' | 'breakin'): InputWithoutTime => ({ kind: 'link', side, event });
const sent = (dir: 'guest→debugger' | 'debugger→guest', seq: number): InputWithoutTime => ({ kind: 'sent', dir, seq });

describe('route reducer scenarios (marbles)', () => {
  it('attach the way radare2 does (break-in, RESET): exactly one state change, the guest untouched', () => {
    // The target stopped before this debugger came; the stop went to a first debugger, who left.
    // The next one connects and sends `b` + RESET at once, then GetVersion.
    scenario(
      'a k c b e K r v w',
      {
        a: g(stop),
        k: sent('guest→debugger', 1),
        c: link('endpoint', 'connect'),
        b: link('endpoint', 'breakin'),
        e: link('endpoint', 'reset'),
        K: sent('guest→debugger', 2),
        r: g(stop), // the guest's own re-send (after a RESEND on its link): not a second stop
        v: d(getVersion),
        w: g(reply),
      },
      // b: absorbed (~), answered from the cache (Ds2). e: that replay is still outstanding, so
      // the endpoint link's retransmit after its RESET reply answers the RESET.
      { a: 'Ds1', k: '.', c: '+', b: '~Ds2', e: '.', K: '.', r: '~', v: 'Gm3', w: 'Dm4' },
    );
  });

  it('a debugger that connects while the stop is still on its way gets that one, and no replay', () => {
    scenario('a c b e k', { a: g(stop), c: link('endpoint', 'connect'), b: link('endpoint', 'breakin'), e: link('endpoint', 'reset'), k: sent('guest→debugger', 1) }, {
      a: 'Ds1',
      c: '+',
      b: '~',
      e: '.',
      k: '.',
    });
  });

  it('reconnects: each debugger RESET gets the cached stop once; a burst gets one', () => {
    scenario(
      'a k c e f E n C F',
      {
        a: g(stop),
        k: sent('guest→debugger', 1),
        c: link('endpoint', 'connect'),
        e: link('endpoint', 'reset'),
        f: link('endpoint', 'reset'),
        E: sent('guest→debugger', 2),
        n: link('endpoint', 'disconnect'),
        C: link('endpoint', 'connect'),
        F: link('endpoint', 'reset'),
      },
      { a: 'Ds1', k: '.', c: '+', e: 'Ds2', f: '.', E: '.', n: '-', C: '+', F: 'Ds3' },
    );
  });

  it('a route that started after the stop passes one RESET on and forwards the answer', () => {
    scenario('c e f s k', { c: link('endpoint', 'connect'), e: link('endpoint', 'reset'), f: link('endpoint', 'reset'), s: g(stop), k: { kind: 'resync-done' } }, {
      c: '+',
      e: 'R',
      f: '.',
      s: 'Ds1',
      k: '.',
    });
  });

  it('target gone and back: the request fails at once, the debugger is told, the new guest is resynced', () => {
    scenario(
      'a k v V x w y s',
      {
        a: g(stop),
        k: sent('guest→debugger', 1),
        v: d(getVersion),
        V: sent('debugger→guest', 2),
        x: link('guest', 'disconnect'),
        w: d(getVersion),
        y: link('guest', 'connect'),
        s: g(otherStop),
      },
      // x: gone; the awaited GetVersion is answered with a failure (D!3), the unload state change
      // queues behind it. w: a request to a vanished target fails at once (queued too).
      { a: 'Ds1', k: '.', v: 'Gm2', V: '.', x: 'xD!3', w: '.', y: 'yR', s: '.' },
    );
  });

  it('break-in while a request is in flight: absorbed (the target is stopped), the reply still arrives', () => {
    scenario(
      'a k v b V w W c C B',
      {
        a: g(stop),
        k: sent('guest→debugger', 1),
        v: d(getVersion),
        b: link('endpoint', 'breakin'),
        V: sent('debugger→guest', 2),
        w: g(reply),
        W: sent('guest→debugger', 3),
        c: d(resume),
        C: sent('debugger→guest', 4),
        B: link('endpoint', 'breakin'),
      },
      // The second break-in comes while the target runs: forwarded at once.
      { a: 'Ds1', k: '.', v: 'Gm2', b: '~', V: '.', w: 'Dm3', W: '.', c: 'Gm4', C: '.', B: 'B' },
    );
  });

  it('a break-in right behind a Continue waits until the Continue has reached the target', () => {
    scenario(
      'a k c b C',
      { a: g(stop), k: sent('guest→debugger', 1), c: d(resume), b: link('endpoint', 'breakin'), C: sent('debugger→guest', 2) },
      { a: 'Ds1', k: '.', c: 'Gm2', b: '.', C: 'B' },
    );
  });

  it('queue overflow: a flooding debugger gets a failure for each refused request', () => {
    scenario(
      'a k v u t q',
      { a: g(stop), k: sent('guest→debugger', 1), v: d(getVersion), u: d(getVersion), t: d(getVersion), q: d(getVersion) },
      // Bound 2: one in flight, one waiting; the next two are refused (d) and each is answered with
      // a failure at once (the second one queues behind the first).
      { a: 'Ds1', k: '.', v: 'Gm2', u: '.', t: 'dD!5', q: 'd' },
      { queueBound: 2 },
    );
  });

  it('toward an attached debugger, prints beyond the bound are held, then the oldest waiting one is dropped', () => {
    scenario(
      'c p q r s t',
      { c: link('endpoint', 'connect'), p: g(print), q: g(print), r: g(print), s: g(print), t: g(print) },
      // Bound 1 (the one in flight), hold 2: q and r are held; s evicts q (d); t evicts r.
      { c: '+', p: 'Dp1', q: '.', r: '.', s: 'd', t: 'd' },
      { queueBound: 1, holdBound: 2 },
    );
  });

  it('a flood of break-ins is recorded once and summarised when the window closes', () => {
    scenario(
      'a k c C b e f 997ms T',
      {
        a: g(stop),
        k: sent('guest→debugger', 1),
        c: d(resume),
        C: sent('debugger→guest', 2),
        b: link('endpoint', 'breakin'),
        e: link('endpoint', 'breakin'),
        f: link('endpoint', 'breakin'),
        T: { kind: 'timer' },
      },
      // Each break-in is forwarded (B); only the first is recorded, the other two are in the summary.
      { a: 'Ds1', k: '.', c: 'Gm2', C: '.', b: 'B', e: 'B', f: 'B', T: '#3' },
    );
  });

  it('a break-in before the guest first connects is held and delivered when it connects, not answered "gone"', () => {
    // A KDRPC guest polls only once its kernel runs: the debugger attaches first (break-in, RESET,
    // a second break-in), the guest connects, stops on the break-in and its stop is forwarded.
    scenario(
      'c b e f y s k',
      {
        c: link('endpoint', 'connect'),
        b: link('endpoint', 'breakin'),
        e: link('endpoint', 'reset'),
        f: link('endpoint', 'breakin'),
        y: link('guest', 'connect'),
        s: g(stop),
        k: sent('guest→debugger', 1),
      },
      // b: held (~), no synthetic state change; f: already held. y: the break-in goes out (B), no
      // "target back" (the guest was never gone). s: the stop is the first one, forwarded.
      { c: '+', b: '~', e: '.', f: '.', y: 'B', s: 'Ds1', k: '.' },
      {},
      { guestPresent: false },
    );
  });

  it('a held break-in belongs to its debugger: one that left takes it with it', () => {
    scenario(
      'c b n y',
      { c: link('endpoint', 'connect'), b: link('endpoint', 'breakin'), n: link('endpoint', 'disconnect'), y: link('guest', 'connect') },
      { c: '+', b: '~', n: '-', y: '.' },
      {},
      { guestPresent: false },
    );
  });

  it('after the guest was there and went, a break-in while it is away still gets "target gone"', () => {
    scenario(
      'a k x X c C b',
      {
        a: g(stop),
        k: sent('guest→debugger', 1),
        x: link('guest', 'disconnect'),
        X: sent('guest→debugger', 2),
        c: d(resume),
        C: sent('debugger→guest', 3),
        b: link('endpoint', 'breakin'),
      },
      // x: gone, the synthetic stop (Ds2). c: the Continue to a vanished target is accepted (no
      // send; it still takes a sequence number). b: the target "runs", so the break-in is answered
      // with another synthetic stop.
      { a: 'Ds1', k: '.', x: 'xDs2', X: '.', c: '.', C: '.', b: 'Ds4' },
    );
  });
});
