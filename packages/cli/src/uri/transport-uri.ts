/**
 * The parsed forms of vmkd's transport URIs (architecture.md §4). Parsing is pure: nothing here
 * touches the file system or the network, so the grammar is testable on every OS.
 */

/** Where a byte stream lives: a TCP address, a Unix socket path or a Windows named pipe. */
export type SocketAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  /** `path` exactly as written (relative paths resolve against the working directory when opened). */
  | { readonly kind: 'unix'; readonly path: string }
  /** `path` in Win32 form, e.g. `\\.\pipe\kd_win10`. */
  | { readonly kind: 'pipe'; readonly path: string };

/** A serial device (pty, `/dev/ttyS0`, `COM1`) opened through `serialport`. */
export interface SerialDeviceAddress {
  readonly kind: 'serial';
  readonly path: string;
  /** Line speed the device is opened with. */
  readonly baud: number;
}

export type ByteAddress = SocketAddress | SerialDeviceAddress;

/** `win7`, `win10`, or one of @vmkd/sim-target's build names (`win10-2004-x64`, …). */
export type SimBuild = string;

/** The virtual kernel's own settings (shared by `sim://` and `vmkd sim`). */
export interface SimOptions {
  readonly build: SimBuild;
  /** Bytes of physical memory. */
  readonly memory: number;
  readonly cpus: number;
}

export type GuestSpec =
  /** A VM's serial port exposed as a socket or pipe (KDCOM bytes); vmkd plays the debugger. */
  | {
      readonly kind: 'serial';
      readonly uri: string;
      readonly address: SocketAddress;
      /** `connect`: the VM listens (QEMU `server`, VirtualBox `tcpserver`); `listen`: the VM connects to us. */
      readonly mode: 'connect' | 'listen';
      /** Emulate a UART at this many bit/s on our side (0 = no pacing; a VM already paces its own port). */
      readonly pace: number;
    }
  /** A real or pseudo serial device. */
  | { readonly kind: 'serial-device'; readonly uri: string; readonly address: SerialDeviceAddress }
  /** VirtualKD's proxy-pipe protocol: a VMM-side forwarder hands us raw KDRPC bodies. */
  | { readonly kind: 'kdrpc-proxy'; readonly uri: string; readonly address: SocketAddress }
  /** The embedded virtual kernel behind a paced serial line or the accelerated KDRPC path. */
  | {
      readonly kind: 'sim';
      readonly uri: string;
      readonly via: 'serial' | 'kdrpc';
      /** Pacing of the virtual serial line in bit/s (0 = unpaced); only for `via=serial`. */
      readonly baud: number;
      /** Who executes the guest's backdoor calls; only for `via=kdrpc`. */
      readonly backdoor: 'inprocess' | 'native';
      readonly sim: SimOptions;
    };

/** Where debuggers attach (a KDCOM server that plays the target). */
export interface EndpointSpec {
  readonly uri: string;
  readonly address: SocketAddress;
}

/** A byte-link server (`vmkd sim --listen`). */
export interface ListenSpec {
  readonly uri: string;
  readonly address: SocketAddress;
}

/** A byte-link client or device (`vmkd sim --connect`). */
export interface ConnectSpec {
  readonly uri: string;
  readonly address: ByteAddress;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = { build: 'win10', memory: 256 * 1024 * 1024, cpus: 1 };
export const DEFAULT_SERIAL_BAUD = 115_200;
