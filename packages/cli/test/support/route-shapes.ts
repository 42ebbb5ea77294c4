import { join } from 'node:path';
import { skipUnlessCapable, type Capability } from '@vmkd/kd-protocol/testing';
import { startPtyPair } from '@vmkd/serial-fallback/testing';
import { waitForOutput, type createChildTracker } from '../cli-harness.js';

/** The guest flavours issue 10 asks every real debugger to work through. */
export type RouteShape = 'sim-serial' | 'sim-kdrpc' | 'sim-process-socket' | 'sim-process-pty';
export const ROUTE_SHAPES: readonly RouteShape[] = ['sim-serial', 'sim-kdrpc', 'sim-process-socket', 'sim-process-pty'];

/** Why a route shape × endpoint cannot run here (a Unix socket or a socat pty pair it needs), or undefined. */
export function shapeSkipReason(shape: RouteShape, endpoint: 'unix' | 'tcp', also: readonly Capability[] = []): string | undefined {
  const needs = new Set<Capability>(also);
  if (endpoint === 'unix' || shape === 'sim-process-socket') needs.add('unix-sockets');
  if (shape === 'sim-process-pty') {
    needs.add('ptys');
    needs.add('socat');
  }
  return needs.size === 0 ? undefined : skipUnlessCapable(...needs);
}

type Children = ReturnType<typeof createChildTracker>;

/**
 * Starts the guest side of a shape (a `vmkd sim` process, a socat pty pair) and returns the guest
 * URI for `vmkd route`. Without `build` the virtual kernel is the default one a newcomer gets
 * (no `build=`, no `--build`); with it, that build (`14393`, `win7`, `win10-2004-x64`, …).
 */
export async function guestFor(shape: RouteShape, children: Children, dir: string, build?: string): Promise<string> {
  const query = build === undefined ? '' : `&build=${build}`;
  const option = build === undefined ? [] : ['--build', build];
  switch (shape) {
    case 'sim-serial':
      return `sim://?via=serial&baud=0${query}`;
    case 'sim-kdrpc':
      return `sim://?via=kdrpc${query}`;
    case 'sim-process-socket': {
      const sim = children.spawnCli(['sim', '--listen', `unix:${join(dir, 'com1.sock')}`, ...option]);
      const [, address] = await waitForOutput(sim, 'stdout', /^(\S+)\n/, 20_000);
      return `serial+${address}`;
    }
    case 'sim-process-pty': {
      const pair = await startPtyPair();
      children.track(pair.process);
      const [simEnd, routeEnd] = pair.paths;
      const sim = children.spawnCli(['sim', '--connect', `serial://${simEnd}`, ...option]);
      await waitForOutput(sim, 'stdout', /\n/, 20_000);
      return `serial://${routeEnd}`;
    }
  }
}

export type EndpointAddress = { readonly path: string } | { readonly host: string; readonly port: number };

/** Starts `vmkd route GUEST ENDPOINT [extra]` and returns where debuggers attach. */
export async function startRoute(children: Children, dir: string, guest: string, endpoint: 'unix' | 'tcp', extra: readonly string[] = []): Promise<EndpointAddress> {
  const uri = endpoint === 'unix' ? `unix:${join(dir, 'kd.sock')}` : 'tcp://127.0.0.1:0';
  const child = children.spawnCli(['route', guest, uri, ...extra]);
  const [, address] = await waitForOutput(child, 'stdout', /^(\S+)\n/, 20_000);
  if (address.startsWith('unix:')) return { path: address.slice('unix:'.length) };
  const url = new URL(address);
  return { host: url.hostname, port: Number(url.port) };
}
