import { afterEach, describe, expect, it } from 'vitest';
import { firstValueFrom, filter, timeout } from 'rxjs';
import { isVmkdError, type KdPacket, type LinkEvent, type PacketLink } from '@vmkd/kd-protocol';
import { createSerialGuestLink, createSerialTargetLink, type SerialPacketLink } from '../src/index.js';
import { pattern } from '@vmkd/byte-links/testing';
import { socatSkipReason, startPtyPair } from '../src/testing/index.js';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function track<T extends { close(): Promise<void> }>(thing: T): T {
  cleanup.push(() => thing.close());
  return thing;
}

function nextEvent(link: PacketLink, kind: LinkEvent['kind'], timeoutMs = 10_000): Promise<LinkEvent> {
  return firstValueFrom((link.events$).pipe(filter((event) => event.kind === kind), timeout(timeoutMs)));
}

/** Resolves once a peer is attached (at once if one already is). */
function whenConnected(link: PacketLink): Promise<unknown> {
  return link.connected ? Promise.resolve() : nextEvent(link, 'connect');
}

async function nextPacket(link: PacketLink): Promise<KdPacket> {
  const event = await nextEvent(link, 'packet');
  if (event.kind !== 'packet') throw new Error('unreachable');
  return event.packet;
}

const stateChange: KdPacket = { type: 7, payload: pattern(240, 1) };
const request: KdPacket = { type: 2, payload: pattern(56, 2) };

async function targetOnTcp(port = 0): Promise<SerialPacketLink> {
  return track(await createSerialTargetLink({ listen: { kind: 'tcp', port } }));
}

function portOf(link: SerialPacketLink): number {
  return Number(new URL(link.address).port);
}

describe('serial guest and target links over TCP', () => {
  it('carry KD packets both ways with connect events on each side', async () => {
    const target = await targetOnTcp();
    const targetConnected = nextEvent(target, 'connect');
    const guest = track(await createSerialGuestLink({ connect: { kind: 'tcp', port: portOf(target) } }));
    expect(guest.role).toBe('target-facing');
    expect(target.role).toBe('debugger-facing');
    await targetConnected;
    expect(target.connected).toBe(true);
    const atGuest = nextPacket(guest);
    await target.send(stateChange);
    expect(await atGuest).toEqual({ type: 7, payload: stateChange.payload });
    const atTarget = nextPacket(target);
    await guest.send(request);
    expect(await atTarget).toEqual({ type: 2, payload: request.payload });
    expect(guest.stats().packetsOut).toBe(1);
    expect(guest.stats().packetsIn).toBe(1);
    expect(guest.connections).toBe(1);
  });

  it('a VM restart (its serial server goes and comes back) is disconnect, then connect, then traffic again', async () => {
    let target = await targetOnTcp();
    const port = portOf(target);
    const guest = track(await createSerialGuestLink({ connect: { kind: 'tcp', port }, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } }));
    const seen: string[] = [];
    guest.events$.subscribe((event) => {
      if (event.kind === 'connect' || event.kind === 'disconnect') seen.push(event.kind);
    });
    await whenConnected(target);
    const disconnected = nextEvent(guest, 'disconnect');
    await target.close();
    await disconnected;
    expect(guest.connected).toBe(false);
    const reconnected = nextEvent(guest, 'connect');
    target = await targetOnTcp(port);
    await reconnected;
    const atGuest = nextPacket(guest);
    await target.send(stateChange);
    expect((await atGuest).type).toBe(7);
    // Two connections, or more where a reconnect can reach the closing server before its port is
    // gone (Wine's wineserver closes a listener asynchronously): each one opened after a disconnect.
    expect(guest.connections).toBeGreaterThanOrEqual(2);
    expect(seen.filter((kind) => kind === 'disconnect')).toHaveLength(guest.connections - 1);
    expect(seen.at(-1)).toBe('connect');
  });

  it('a send made while no peer is attached waits for one, and gives up after waitForPeerMs', async () => {
    const lonely = track(await createSerialTargetLink({ listen: { kind: 'tcp', port: 0 }, waitForPeerMs: 150 }));
    const error = await lonely.send(stateChange).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_LINK_TIMEOUT')).toBe(true);

    const target = track(await createSerialTargetLink({ listen: { kind: 'tcp', port: 0 }, waitForPeerMs: 10_000 }));
    const sent = target.send(stateChange);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const guest = track(await createSerialGuestLink({ connect: { kind: 'tcp', port: portOf(target) } }));
    const atGuest = nextPacket(guest);
    await sent;
    expect((await atGuest).type).toBe(7);
  });

  it('refuses a second concurrent peer on a listening link and keeps the first', async () => {
    const target = await targetOnTcp();
    const guest = track(await createSerialGuestLink({ connect: { kind: 'tcp', port: portOf(target) } }));
    await whenConnected(target);
    const refused = firstValueFrom(target.notices$.pipe(timeout(5_000)));
    const intruder = track(await createSerialGuestLink({ connect: { kind: 'tcp', port: portOf(target) }, reconnect: false }));
    expect(await refused).toMatchObject({ kind: 'refused' });
    await nextEvent(intruder, 'disconnect');
    const atGuest = nextPacket(guest);
    await target.send(stateChange);
    expect((await atGuest).type).toBe(7);
  });

  it('rejects breakIn() and resync() on the debugger-facing side', async () => {
    const target = await targetOnTcp();
    expect(isVmkdError(await target.breakIn().catch((e: unknown) => e), 'ERR_LINK_UNSUPPORTED')).toBe(true);
    expect(isVmkdError(await target.resync().catch((e: unknown) => e), 'ERR_LINK_UNSUPPORTED')).toBe(true);
  });

  it('forwards a break-in from the guest link to the target side', async () => {
    const target = await targetOnTcp();
    const guest = track(await createSerialGuestLink({ connect: { kind: 'tcp', port: portOf(target) } }));
    await whenConnected(target);
    const breakin = nextEvent(target, 'breakin');
    await guest.breakIn();
    await breakin;
  });

  it('fails at once for options no retry can fix', async () => {
    const error = await createSerialGuestLink({ connect: { kind: 'tcp', port: -1 } }).catch((e: unknown) => e);
    expect(isVmkdError(error, 'ERR_SERIAL_BAD_OPTIONS')).toBe(true);
  });
});

describe('serial guest and target links over a real socat pty pair', () => {
  it('carry KD packets both ways, paced at 115,200 bit/s on the target side', async ({ skip }) => {
    skip(socatSkipReason() !== undefined, socatSkipReason());
    const pair = await startPtyPair();
    cleanup.push(() => pair.stop());
    const target = track(
      await createSerialTargetLink({ connect: { kind: 'serial', path: pair.paths[0], pace: { baud: 115_200 } } }),
    );
    const guest = track(await createSerialGuestLink({ connect: { kind: 'serial', path: pair.paths[1] } }));
    const atGuest = nextPacket(guest);
    await target.send(stateChange);
    expect(await atGuest).toEqual(stateChange);
    const big: KdPacket = { type: 2, payload: pattern(4000, 3) };
    const atTarget = nextPacket(target);
    await guest.send(big);
    expect(await atTarget).toEqual(big);
  });
});
