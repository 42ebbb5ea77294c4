import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { LinkErrorCode, VmkdError } from '@vmkd/kd-protocol';
import type { UdpAddress } from './control.js';
import { KdnetErrorCode, kdnetError } from './errors.js';

/** What the KDNET links need from a UDP socket: the one I/O edge of this package. */
export interface UdpPort {
  /** The address actually bound (the port filled in when 0 was asked for). */
  readonly local: UdpAddress;
  send(bytes: Uint8Array, to: UdpAddress): void;
  /** Datagrams as they arrive, and the ICMP "port unreachable" a connected socket reports. */
  onMessage(handler: (bytes: Uint8Array, from: UdpAddress) => void): void;
  onUnreachable(handler: (error: VmkdError) => void): void;
  close(): Promise<void>;
  /** The node socket, for tests that make it vanish under the link. */
  readonly socket: Socket;
}

export interface OpenUdpOptions {
  /** Where to bind. Loopback unless `allowRemote`. Port 0 = any free port. */
  readonly bind: UdpAddress;
  /**
   * Connect the socket to this peer: only its datagrams are received, and the kernel reports an
   * ICMP port-unreachable from it as an error, which is how a debugger that went away is noticed.
   */
  readonly connectTo?: UdpAddress;
  /** Binding a non-loopback address needs this, in so many words. */
  readonly allowRemote?: boolean;
}

export function isLoopback(address: string): boolean {
  return address === '::1' || address === 'localhost' || /^127\./.test(address) || /^::ffff:127\./.test(address);
}

export function checkUdpAddress(address: UdpAddress, what: string): void {
  if (!Number.isInteger(address.port) || address.port < 0 || address.port > 65535) {
    throw kdnetError(KdnetErrorCode.BadAddress, `${what}: port ${address.port} is not in 0-65535`, { port: address.port });
  }
  if (isIP(address.address) === 0 && address.address !== 'localhost') {
    throw kdnetError(KdnetErrorCode.BadAddress, `${what}: "${address.address}" is not an IP address`, { address: address.address });
  }
}

/** Opens and binds a UDP socket (IPv4 or IPv6 by the bind address). */
export async function openUdpPort(options: OpenUdpOptions): Promise<UdpPort> {
  checkUdpAddress(options.bind, 'KDNET bind address');
  if (!isLoopback(options.bind.address) && options.allowRemote !== true) {
    throw kdnetError(
      KdnetErrorCode.BadAddress,
      `KDNET: binding ${options.bind.address} would accept datagrams from other machines; bind loopback or pass allowRemote (--allow-remote)`,
      { address: options.bind.address },
    );
  }
  const bindAddress = options.bind.address === 'localhost' ? '127.0.0.1' : options.bind.address;
  const socket = createSocket({ type: isIP(bindAddress) === 6 ? 'udp6' : 'udp4' });
  let onMessage: (bytes: Uint8Array, from: UdpAddress) => void = () => undefined;
  let onUnreachable: (error: VmkdError) => void = () => undefined;
  let closed = false;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.bind.port, bindAddress, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  if (options.connectTo !== undefined) {
    const to = options.connectTo;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(to.port, to.address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  }
  const connected = options.connectTo !== undefined;
  socket.on('message', (msg, rinfo) => {
    onMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { address: rinfo.address, port: rinfo.port });
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (closed) return;
    if (error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH' || error.code === 'ENETUNREACH') {
      onUnreachable(new VmkdError(LinkErrorCode.Disconnected, `KDNET: peer unreachable (${error.code})`, { cause: error, disconnected: true }));
    }
  });
  const bound = socket.address();
  return {
    local: { address: bound.address, port: bound.port },
    socket,
    send(bytes, to) {
      if (closed) return;
      const done = (error: Error | null): void => {
        const code = error !== null && 'code' in error ? String(error.code) : undefined;
        if (!closed && (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH')) {
          onUnreachable(new VmkdError(LinkErrorCode.Disconnected, `KDNET: peer unreachable (${code})`, { cause: error, disconnected: true }));
        }
      };
      try {
        if (connected) socket.send(bytes, done);
        else socket.send(bytes, to.port, to.address, done);
      } catch {
        // A socket closed underneath (a vanished transport) drops the datagram, as the network would.
      }
    },
    onMessage(handler) {
      onMessage = handler;
    },
    onUnreachable(handler) {
      onUnreachable = handler;
    },
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve();
        }
      });
    },
  };
}
