import { afterEach, describe, expect, it } from 'vitest';
import { createKdcomLink, decodeKdcomFrames, encodeControlFrame, encodeDataFrame, KdPacketType, type LinkEvent, type PacketLink } from '../src/index.js';
import { createMemoryBytePair, createVirtualClock } from '../src/testing/index.js';

const links: PacketLink[] = [];
afterEach(async () => {
  for (const l of links.splice(0)) await l.close();
});

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/** A target-role KDCOM link with raw bytes on the debugger's side: what it writes, what it reports. */
function targetRig() {
  const clock = createVirtualClock();
  const [debuggerBytes, targetBytes] = createMemoryBytePair();
  const target = createKdcomLink(targetBytes, { role: 'debugger-facing', clock });
  links.push(target);
  const events: LinkEvent[] = [];
  target.events$.subscribe((e) => events.push(e));
  const wire: number[] = [];
  debuggerBytes.data$.subscribe((c) => wire.push(...c));
  const frames = () => decodeKdcomFrames(Uint8Array.from(wire)).map((e) => (e.kind === 'control' ? `control:${e.type}` : e.kind === 'data' ? `data:${e.type}` : e.kind));
  return { clock, debuggerBytes, target, events, wire, frames };
}

const RESET = encodeControlFrame(KdPacketType.Reset, 0);
const RESEND = encodeControlFrame(KdPacketType.Resend, 0);

describe('KDCOM target role, Windows-faithful (KD spec 1.9)', () => {
  it('while the kernel runs and sends nothing: RESET, RESEND and requests are consumed and ignored; b is a break-in', async () => {
    const { debuggerBytes, target, events, wire } = targetRig();
    target.setTargetRunning?.(true);
    await debuggerBytes.write(RESET);
    await debuggerBytes.write(RESEND);
    await debuggerBytes.write(encodeDataFrame(KdPacketType.StateManipulate, 0x80800000, new Uint8Array(56)));
    await tick();
    expect(wire).toEqual([]); // no RESET reply, no ACK
    expect(events.filter((e) => e.kind !== 'connect')).toEqual([]);
    await debuggerBytes.write(Uint8Array.of(0x62));
    await tick();
    expect(events.map((e) => e.kind)).toEqual(['connect', 'breakin']);
  });

  it('stopped again, it answers RESET as before', async () => {
    const { debuggerBytes, target, events, frames } = targetRig();
    target.setTargetRunning?.(true);
    target.setTargetRunning?.(false);
    await debuggerBytes.write(RESET);
    await tick();
    expect(frames()).toEqual([`control:${KdPacketType.Reset}`]);
    expect(events.map((e) => e.kind)).toEqual(['connect', 'reset']);
  });

  it('flush on reset: five queued RESETs give one RESET reply and one retransmission (virtualkd-kdrpc 7.3)', async () => {
    const { debuggerBytes, target, events, frames } = targetRig();
    void target.send({ type: KdPacketType.StateChange64, payload: new Uint8Array(240) }).catch(() => undefined);
    await tick();
    expect(frames()).toEqual([`data:${KdPacketType.StateChange64}`]);
    const five = new Uint8Array(RESET.length * 5);
    for (let i = 0; i < 5; i++) five.set(RESET, i * RESET.length);
    await debuggerBytes.write(five);
    await tick();
    expect(frames()).toEqual([`data:${KdPacketType.StateChange64}`, `control:${KdPacketType.Reset}`, `data:${KdPacketType.StateChange64}`]);
    expect(events.filter((e) => e.kind === 'reset')).toHaveLength(1);
  });

  it('RESEND while idle after the state change asks for it again (spec 1.6); after a reply it repeats the reply', async () => {
    const { debuggerBytes, target, events, frames } = targetRig();
    const announced = target.send({ type: KdPacketType.StateChange64, payload: new Uint8Array(240) });
    await tick();
    await debuggerBytes.write(encodeControlFrame(KdPacketType.Acknowledge, 0x80800000));
    await announced;
    await debuggerBytes.write(RESEND);
    await tick();
    expect(frames()).toEqual([`data:${KdPacketType.StateChange64}`]); // not repeated by the link...
    expect(events.map((e) => e.kind)).toEqual(['connect', 'reset']); // ...the session announces on this
    const replied = target.send({ type: KdPacketType.StateManipulate, payload: new Uint8Array(56) });
    await tick();
    await debuggerBytes.write(encodeControlFrame(KdPacketType.Acknowledge, 0x80800001));
    await replied;
    await debuggerBytes.write(RESEND);
    await tick();
    // Mid-conversation a RESEND is noise from a recovery: the reply again, which the debugger drops by id.
    expect(frames()).toEqual([`data:${KdPacketType.StateChange64}`, `data:${KdPacketType.StateManipulate}`, `data:${KdPacketType.StateManipulate}`]);
    expect(events.filter((e) => e.kind === 'reset')).toHaveLength(1);
  });
});
