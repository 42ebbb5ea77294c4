import { describe, expect, it } from 'vitest';
import { hasCapabilities } from '@vmkd/kd-protocol/testing';
import { isVmkdError } from '@vmkd/kd-protocol';
import { formatSocketAddress, type SocketAddress } from '@vmkd/byte-links';
import { parseEndpointUri, parseGuestUri } from '../open.js';
import { parseConnectUri, parseListenUri } from './line-uris.js';

function badUri(parse: () => unknown): string {
  try {
    parse();
  } catch (error) {
    expect(isVmkdError(error, 'ERR_CLI_BAD_URI')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected ERR_CLI_BAD_URI');
}

describe('parseGuestUri', () => {
  it('parses serial over TCP, defaulting to connect and no pacing', () => {
    expect(parseGuestUri('serial+tcp://127.0.0.1:5555')).toEqual({
      kind: 'serial',
      uri: 'serial+tcp://127.0.0.1:5555',
      address: { kind: 'tcp', host: '127.0.0.1', port: 5555 },
      mode: 'connect',
      pace: 0,
    });
  });

  it('parses listen mode and pacing', () => {
    const spec = parseGuestUri('serial+tcp://127.0.0.1:0?mode=listen&pace=115200');
    expect(spec).toMatchObject({ kind: 'serial', mode: 'listen', pace: 115200, address: { port: 0 } });
  });

  it('refuses port 0 when connecting', () => {
    expect(badUri(() => parseGuestUri('serial+tcp://127.0.0.1:0'))).toMatch(/port 0/);
  });

  it('parses IPv6 hosts without brackets', () => {
    expect(parseGuestUri('serial+tcp://[::1]:5555')).toMatchObject({ address: { kind: 'tcp', host: '::1', port: 5555 } });
  });

  it('parses relative and absolute Unix socket paths', () => {
    expect(parseGuestUri('serial+unix:com1.sock')).toMatchObject({ address: { kind: 'unix', path: 'com1.sock' } });
    expect(parseGuestUri('serial+unix:./vm/com1.sock')).toMatchObject({ address: { kind: 'unix', path: './vm/com1.sock' } });
    expect(parseGuestUri('serial+unix:/tmp/com1.sock')).toMatchObject({ address: { kind: 'unix', path: '/tmp/com1.sock' } });
    expect(parseGuestUri('serial+unix:///tmp/com1.sock')).toMatchObject({ address: { kind: 'unix', path: '/tmp/com1.sock' } });
    expect(parseGuestUri('serial+unix:my%20vm.sock')).toMatchObject({ address: { kind: 'unix', path: 'my vm.sock' } });
  });

  it('explains the two-slash Unix mistake', () => {
    expect(badUri(() => parseGuestUri('serial+unix://com1.sock'))).toMatch(/serial\+unix:com1\.sock/);
  });

  it('refuses over-long Unix socket paths before the OS does', () => {
    expect(badUri(() => parseGuestUri(`serial+unix:/${'a'.repeat(120)}`))).toMatch(/longer than 107 bytes/);
  });

  it('maps pipe URIs to Win32 pipe names', () => {
    expect(parseGuestUri('serial+pipe://./pipe/com_1')).toMatchObject({ address: { kind: 'pipe', path: '\\\\.\\pipe\\com_1' } });
    expect(parseGuestUri('serial+pipe://vmhost/pipe/com_1')).toMatchObject({ address: { kind: 'pipe', path: '\\\\vmhost\\pipe\\com_1' } });
    expect(badUri(() => parseGuestUri('serial+pipe://./com_1'))).toMatch(/\/pipe\/NAME/);
  });

  it('parses serial devices with a baud rate', () => {
    expect(parseGuestUri('serial:///dev/ttyS0?baud=115200')).toEqual({
      kind: 'serial-device',
      uri: 'serial:///dev/ttyS0?baud=115200',
      address: { kind: 'serial', path: '/dev/ttyS0', baud: 115200 },
    });
    expect(parseGuestUri('serial:COM1')).toMatchObject({ address: { path: 'COM1', baud: 115200 } });
    expect(badUri(() => parseGuestUri('serial:///dev/ttyS0?baud=fast'))).toMatch(/baud="fast" is not a whole number/);
    expect(badUri(() => parseGuestUri('serial:///dev/ttyS0?baud=10'))).toMatch(/out of range/);
  });

  it('parses the KDRPC proxy forms', () => {
    expect(parseGuestUri('kdrpc+proxypipe://./pipe/kdvmware_proxypipe')).toMatchObject({
      kind: 'kdrpc-proxy',
      address: { kind: 'pipe', path: '\\\\.\\pipe\\kdvmware_proxypipe' },
    });
    expect(parseGuestUri('kdrpc+proxyunix:proxy.sock')).toMatchObject({ kind: 'kdrpc-proxy', address: { kind: 'unix', path: 'proxy.sock' } });
  });

  it('parses sim with defaults and every option', () => {
    expect(parseGuestUri('sim://')).toMatchObject({
      kind: 'sim',
      via: 'serial',
      baud: 115200,
      sim: { build: 'win10', memory: 256 * 1024 * 1024, cpus: 1 },
    });
    // backdoor= belongs to via=kdrpc alone now that each sim variant owns its keys; its default is checked there.
    expect(parseGuestUri('sim://?via=kdrpc')).toMatchObject({ via: 'kdrpc', backdoor: 'inprocess' });
    expect(parseGuestUri('sim://?via=serial&baud=0&build=win7&memory=1G&cpus=4')).toMatchObject({
      via: 'serial',
      baud: 0,
      sim: { build: 'win7', memory: 1024 ** 3, cpus: 4 },
    });
    expect(parseGuestUri('sim://?via=kdrpc&backdoor=native')).toMatchObject({ via: 'kdrpc', backdoor: 'native' });
    expect(parseGuestUri('sim:?via=kdrpc')).toMatchObject({ via: 'kdrpc' });
  });

  it('carries the sim serial line over a socket and in a child process only where that makes sense', () => {
    if (hasCapabilities('unix-sockets')) {
      expect(parseGuestUri('sim://?via=serial&line=unix&baud=0&process=child')).toMatchObject({ via: 'serial', line: 'unix', process: 'child', baud: 0 });
    } else {
      // Node for Windows has no Unix sockets: the URI says so instead of failing later.
      expect(badUri(() => parseGuestUri('sim://?via=serial&line=unix&baud=0&process=child'))).toMatch(/line=unix needs Unix sockets; use line=tcp on Windows/);
    }
    expect(parseGuestUri('sim://?via=serial&line=tcp')).toMatchObject({ line: 'tcp', process: 'self' });
    expect(badUri(() => parseGuestUri('sim://?via=serial&process=child'))).toMatch(/process=child needs a socket/);
    expect(badUri(() => parseGuestUri('sim://?via=kdrpc&line=unix'))).toMatch(/line= applies only to via=serial/);
  });

  it('names the problem in a bad sim query', () => {
    expect(badUri(() => parseGuestUri('sim://?via=usb'))).toMatch(/via="usb" is not one of serial, kdrpc/);
    expect(badUri(() => parseGuestUri('sim://?speed=1'))).toMatch(/unknown query parameter "speed"/);
    expect(badUri(() => parseGuestUri('sim://?via=kdrpc&baud=9600'))).toMatch(/baud= applies only to via=serial/);
    expect(badUri(() => parseGuestUri('sim://?backdoor=native'))).toMatch(/backdoor= applies only to via=kdrpc/);
    expect(badUri(() => parseGuestUri('sim://?memory=lots'))).toMatch(/memory="lots"/);
    expect(badUri(() => parseGuestUri('sim://?cpus=0'))).toMatch(/cpus=0 is out of range/);
    expect(badUri(() => parseGuestUri('sim://?via=serial&via=kdrpc'))).toMatch(/given twice/);
    expect(badUri(() => parseGuestUri('sim://host'))).toMatch(/only a query/);
  });

  it('rejects unknown schemes and non-URIs, naming the accepted schemes', () => {
    expect(badUri(() => parseGuestUri('ftp://x'))).toMatch(/unknown guest scheme "ftp:".*serial\+tcp:/);
    expect(badUri(() => parseGuestUri('tcp://127.0.0.1:5555'))).toMatch(/unknown guest scheme "tcp:"/);
    expect(badUri(() => parseGuestUri('com1.sock'))).toMatch(/not a URI/);
    expect(badUri(() => parseGuestUri(''))).toMatch(/not a URI/);
  });

  it('names an out-of-range port instead of saying "Invalid URL"', () => {
    expect(badUri(() => parseGuestUri('serial+tcp://127.0.0.1:99999'))).toMatch(/port 99999 is out of range \(a TCP port is 1\.\.65535\)/);
    expect(badUri(() => parseEndpointUri('tcp://127.0.0.1:99999'))).toMatch(/port 99999 is out of range/);
  });

  it('rejects fragments, credentials and paths where none belong', () => {
    expect(badUri(() => parseGuestUri('serial+tcp://127.0.0.1:5555#x'))).toMatch(/fragment/);
    expect(badUri(() => parseGuestUri('serial+tcp://u:p@127.0.0.1:5555'))).toMatch(/user information/);
    expect(badUri(() => parseGuestUri('serial+tcp://127.0.0.1:5555/x'))).toMatch(/no path/);
    expect(badUri(() => parseGuestUri('serial+tcp://127.0.0.1'))).toMatch(/port is required/);
    expect(badUri(() => parseGuestUri('serial+tcp://127.0.0.1:70000'))).toMatch(/bad URI/);
  });

  it('is case-insensitive in the scheme only', () => {
    expect(parseGuestUri('SERIAL+UNIX:Com1.sock')).toMatchObject({ address: { path: 'Com1.sock' } });
  });
});

describe('parseEndpointUri', () => {
  it('parses the three endpoint kinds', () => {
    expect(parseEndpointUri('pipe://./pipe/kd_win10').address).toEqual({ kind: 'pipe', path: '\\\\.\\pipe\\kd_win10' });
    expect(parseEndpointUri('unix:kd.sock').address).toEqual({ kind: 'unix', path: 'kd.sock' });
    expect(parseEndpointUri('tcp://127.0.0.1:9999').address).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 9999 });
    expect(parseEndpointUri('tcp://127.0.0.1:0').address).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 0 });
  });

  it('refuses guest schemes and query parameters', () => {
    expect(badUri(() => parseEndpointUri('serial+tcp://127.0.0.1:1'))).toMatch(/unknown endpoint scheme "serial\+tcp:".*pipe:, unix:, tcp:/);
    expect(badUri(() => parseEndpointUri('unix:kd.sock?mode=x'))).toMatch(/takes no query parameters/);
  });
});

describe('parseListenUri and parseConnectUri', () => {
  it('parses listeners', () => {
    expect(parseListenUri('tcp://127.0.0.1:5555').address).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5555 });
    expect(parseListenUri('unix:com1.sock').address).toEqual({ kind: 'unix', path: 'com1.sock' });
    expect(badUri(() => parseListenUri('serial:///dev/ttyS0'))).toMatch(/unknown listen scheme/);
  });

  it('parses clients and devices', () => {
    expect(parseConnectUri('serial:///dev/pts/3?baud=9600').address).toEqual({ kind: 'serial', path: '/dev/pts/3', baud: 9600 });
    expect(parseConnectUri('tcp://localhost:1').address).toEqual({ kind: 'tcp', host: 'localhost', port: 1 });
    expect(badUri(() => parseConnectUri('tcp://localhost:0'))).toMatch(/port 0/);
  });
});

describe('formatSocketAddress', () => {
  it('round-trips through the endpoint parser', () => {
    for (const uri of ['tcp://127.0.0.1:9999', 'tcp://[::1]:9999', 'unix:kd.sock', 'unix:///tmp/kd.sock', 'pipe://./pipe/kd_win10']) {
      const address = parseEndpointUri(uri).address as SocketAddress;
      expect(formatSocketAddress(address)).toBe(uri);
      expect(parseEndpointUri(formatSocketAddress(address)).address).toEqual(address);
    }
  });
});
