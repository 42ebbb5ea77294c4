import { describe, expect, it } from 'vitest';
import { encodeControlFrame, KdPacketType } from '../src/index.js';
import { KdcomSim, numbered, seqOf, type Side } from './kdcom-sim.js';

/**
 * RESET exchanges that other traffic crosses, in virtual time (KD spec 1.6, 1.9). The debugger
 * side only ever asks for a RESET and the target side only ever answers, so a RESET nobody asked
 * for (a straggling answer to a retry, or the answer to a RESET that reached the target from
 * elsewhere) must leave both ends able to go on: no ping-pong, nothing lost, nothing twice.
 */

const RESET = encodeControlFrame(KdPacketType.Reset, 0);
const isReset = (chunk: Uint8Array): boolean => chunk[0] === 0x69 && chunk[4] === KdPacketType.Reset;

/** Counts the RESETs each side writes. */
function countResets(sim: KdcomSim): Record<Side, number> {
  const counts: Record<Side, number> = { dbg: 0, tgt: 0 };
  sim.fault = (chunk, from) => {
    if (isReset(chunk)) counts[from] += 1;
    return chunk;
  };
  return counts;
}

/** The virtual kernel's part: the target role answers every request, a Continue (type 2, seq ≥ 100) lets it run. */
function serve(sim: KdcomSim): void {
  sim.tgt.onDeliver = (p) => {
    if (seqOf(p) >= 100) sim.tgt.machine.setKernelRunning(true);
    else sim.tgt.machine.send(numbered('tgt', seqOf(p)), seqOf(p));
  };
}

describe('KDCOM RESET exchanges crossed by traffic', () => {
  it('a RESET answer reaching the debugger after the target resumed changes no ids: the next stop and request go through', () => {
    const sim = new KdcomSim();
    serve(sim);
    const resets = countResets(sim);
    // Stopped target: request 1, reply 1, then a Continue (seq 100) the target takes and runs on.
    sim.dbg.machine.send(numbered('dbg', 1), 1);
    sim.settle();
    sim.dbg.machine.send(numbered('dbg', 100), 100);
    sim.settle();
    expect(sim.tgt.delivered.map(seqOf)).toEqual([1, 100]);
    // A RESET comes to the debugger that it did not ask for (the answer to a RESET the target
    // took while still stopped). The debugger used to answer it and restart its ids; the running
    // target consumed that answer (spec 1.9), so the ids parted and the next request was ACKed
    // as a duplicate and dropped.
    sim.tgt.outbox.push(RESET.slice());
    sim.settle();
    expect(resets.dbg).toBe(0);
    // The target stops (a breakpoint) and reports it; the debugger asks something.
    sim.tgt.machine.setKernelRunning(false);
    sim.tgt.machine.send(numbered('tgt', 200), 200);
    sim.settle();
    sim.dbg.machine.send(numbered('dbg', 2), 2);
    sim.settle();
    expect(sim.tgt.delivered.map(seqOf)).toEqual([1, 100, 2]);
    expect(sim.dbg.delivered.map(seqOf)).toEqual([1, 200, 2]);
    expect(sim.dbg.machine.ids).toEqual(sim.tgt.machine.ids);
    expect(sim.wireEmpty).toBe(true);
  });

  it('a RESET that reached a stopped target from elsewhere while a request crosses it: one answer, no ping-pong, exactly once', () => {
    for (const lead of ['reset-first', 'request-first'] as const) {
      const sim = new KdcomSim();
      serve(sim);
      const resets = countResets(sim);
      sim.dbg.machine.send(numbered('dbg', 1), 1);
      sim.settle();
      // Request 2 and a foreign RESET travel towards the target in either order.
      sim.dbg.machine.send(numbered('dbg', 2), 2);
      if (lead === 'reset-first') sim.dbg.outbox.unshift(RESET.slice());
      else sim.dbg.outbox.push(RESET.slice());
      sim.settle();
      sim.dbg.machine.send(numbered('dbg', 3), 3);
      sim.settle();
      expect(sim.tgt.delivered.map(seqOf), lead).toEqual([1, 2, 3]);
      expect(sim.dbg.delivered.map(seqOf), lead).toEqual([1, 2, 3]);
      expect(resets, lead).toEqual({ dbg: 1, tgt: 1 }); // the foreign one, and the target's answer
      expect(sim.wireEmpty).toBe(true);
    }
  });

  it('the target restarted its ids answering a foreign RESET while our ACK of its reply was on the way: the retransmitted reply is not taken twice', () => {
    const sim = new KdcomSim();
    serve(sim);
    sim.dbg.machine.send(numbered('dbg', 1), 1);
    sim.deliverOne('dbg'); // request 1 reaches the target, which queues reply 1
    sim.deliverOne('dbg'); // (nothing more from the debugger yet)
    sim.deliverOne('tgt'); // the target's ACK of request 1
    sim.deliverOne('tgt'); // reply 1: the debugger takes it and writes its ACK
    expect(sim.dbg.delivered.map(seqOf)).toEqual([1]);
    sim.dbg.outbox.unshift(RESET.slice()); // a foreign RESET overtakes that ACK
    sim.settle();
    expect(sim.dbg.delivered.map(seqOf)).toEqual([1]);
    sim.dbg.machine.send(numbered('dbg', 2), 2);
    sim.settle();
    expect(sim.tgt.delivered.map(seqOf)).toEqual([1, 2]);
    expect(sim.dbg.delivered.map(seqOf)).toEqual([1, 2]);
  });

  it('our RESET to a running target that ignores it, crossed by the stop it reports: taken at once, settled with one fresh RESET, in link time well under T_ack', () => {
    const sim = new KdcomSim({ ackTimeoutMs: 1000 });
    serve(sim);
    sim.tgt.machine.setKernelRunning(true);
    sim.resync('dbg'); // consumed by the running target
    sim.deliverOne('dbg');
    expect(sim.tgt.peerResets).toBe(0);
    sim.clock.advance(5);
    sim.tgt.machine.setKernelRunning(false); // it stops and reports it
    sim.tgt.machine.send(numbered('tgt', 200), 200);
    sim.settle();
    expect(sim.dbg.delivered.map(seqOf)).toEqual([200]);
    expect(sim.dbg.resynced).toBe(1);
    sim.dbg.machine.send(numbered('dbg', 1), 1);
    sim.settle();
    expect(sim.dbg.delivered.map(seqOf)).toEqual([200, 1]);
    expect(sim.tgt.delivered.map(seqOf)).toEqual([1]);
    expect(sim.clock.now()).toBeLessThan(200);
  });

  it('a RESET and its retry that reach the target together get one answer (flush on reset); the exchange closes on it', () => {
    const sim = new KdcomSim();
    serve(sim);
    const resets = countResets(sim);
    sim.dbg.machine.send(numbered('dbg', 1), 1);
    sim.settle();
    sim.resync('dbg');
    sim.clock.advance(100); // no answer yet: retries go out
    const queued = sim.dbg.outbox.splice(0);
    expect(queued.length).toBeGreaterThanOrEqual(2);
    const all = new Uint8Array(queued.reduce((n, c) => n + c.length, 0));
    queued.reduce((at, c) => (all.set(c, at), at + c.length), 0);
    sim.dbg.outbox.unshift(all); // one chunk at the target, as a pipe delivers queued writes
    sim.settle();
    expect(resets).toEqual({ dbg: 1, tgt: 1 }); // (the RESETs went as one chunk; one answer)
    expect(sim.dbg.resynced).toBe(1);
    sim.dbg.machine.send(numbered('dbg', 2), 2);
    sim.settle();
    expect(sim.tgt.delivered.map(seqOf)).toEqual([1, 2]);
    expect(sim.dbg.delivered.map(seqOf)).toEqual([1, 2]);
    expect(sim.busy()).toBe(false);
  });
});
