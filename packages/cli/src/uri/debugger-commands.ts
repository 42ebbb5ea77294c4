import type { SocketAddress } from './transport-uri.js';

export interface DebuggerCommand {
  /** Which debugger the line is for. */
  readonly debugger: 'windbg' | 'kd' | 'radare2';
  readonly command: string;
  /** A caveat worth printing next to the line. */
  readonly note?: string;
}

/**
 * The command lines that attach a KD debugger to an endpoint (Microsoft's documented `-k com:`
 * forms; radare2's `winkd://`, which on Linux is a Unix-socket client and has no TCP client).
 */
export function debuggerCommandsFor(address: SocketAddress): DebuggerCommand[] {
  switch (address.kind) {
    case 'pipe': {
      const k = `-k com:pipe,port=${address.path},resets=0,reconnect`;
      return [
        { debugger: 'windbg', command: `windbg ${k}` },
        { debugger: 'kd', command: `kd ${k}` },
        { debugger: 'radare2', command: `r2 -a x86 -b 64 -D winkd winkd://${address.path}` },
      ];
    }
    case 'tcp': {
      const k = `-k com:ipport=${address.port},port=${address.host}`;
      return [
        { debugger: 'windbg', command: `windbg ${k}` },
        { debugger: 'kd', command: `kd ${k}` },
        {
          debugger: 'radare2',
          command: `socat UNIX-LISTEN:kd.sock,unlink-early TCP:${address.host}:${address.port} & r2 -a x86 -b 64 -D winkd winkd://kd.sock`,
          note: 'radare2 has no TCP client; socat bridges a Unix socket to the endpoint',
        },
      ];
    }
    case 'unix':
      return [{ debugger: 'radare2', command: `r2 -a x86 -b 64 -D winkd winkd://${address.path}` }];
  }
}
