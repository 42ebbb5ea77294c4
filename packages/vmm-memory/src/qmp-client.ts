import { createConnection, type Socket } from 'node:net';
import { VmmMemoryErrorCode, vmmError } from './errors.js';

/** The most one QMP reply line may hold before the client gives up (`info mtree -f` of a big machine is ~100 KB). */
const MAX_LINE = 16 * 1024 * 1024;

export interface QmpClient {
  /** QEMU's version from the greeting (`7.2.22`). */
  readonly version: string;
  /** Runs a QMP command; resolves with its `return`, rejects ERR_VMM_QMP with QEMU's `error.desc`. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown>;
  /** Runs a human-monitor command (`info mtree -f`, `gpa2hva 0x0`, `xp …`) and returns its text. */
  hmp(commandLine: string): Promise<string>;
  close(): void;
}

export interface QmpConnectOptions {
  /** Per-command timeout in ms (default 10 000). */
  readonly timeoutMs?: number;
}

/**
 * A minimal QMP client (QEMU docs/interop/qmp-spec: one JSON object per line; a greeting, then
 * `qmp_capabilities`, then `{"execute", "arguments", "id"}` answered by `{"return"|"error", "id"}`;
 * asynchronous `{"event"}` lines are skipped).
 */
export async function connectQmp(path: string, options: QmpConnectOptions = {}): Promise<QmpClient> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const socket: Socket = createConnection({ path });
  let buffer = '';
  let nextId = 1;
  let failure: Error | undefined;
  const waiting = new Map<number | 'greeting', { resolve(v: Record<string, unknown>): void; reject(e: Error): void }>();

  const fail = (error: Error): void => {
    failure ??= error;
    for (const w of waiting.values()) w.reject(failure);
    waiting.clear();
    socket.destroy();
  };

  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    if (buffer.length > MAX_LINE) {
      fail(vmmError(VmmMemoryErrorCode.Qmp, `QMP ${path}: a reply line longer than ${MAX_LINE} bytes`, { path }));
      return;
    }
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line === '') continue;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(line) as Record<string, unknown>;
      } catch (error) {
        fail(vmmError(VmmMemoryErrorCode.Qmp, `QMP ${path}: not JSON: ${line.slice(0, 80)}`, { path }, error));
        return;
      }
      if ('QMP' in message) waiting.get('greeting')?.resolve(message);
      else if ('event' in message) continue;
      else {
        const id = message.id;
        const w = typeof id === 'number' ? waiting.get(id) : undefined;
        if (w !== undefined && typeof id === 'number') {
          waiting.delete(id);
          w.resolve(message);
        }
      }
    }
  });
  socket.on('error', (error) => fail(vmmError(VmmMemoryErrorCode.Qmp, `QMP ${path}: ${error.message}`, { path }, error)));
  socket.on('close', () => fail(vmmError(VmmMemoryErrorCode.Qmp, `QMP ${path}: QEMU closed the monitor`, { path })));

  const wait = (key: number | 'greeting', what: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      const timer = setTimeout(() => {
        waiting.delete(key);
        reject(vmmError(VmmMemoryErrorCode.Qmp, `QMP ${path}: no answer to ${what} within ${timeoutMs} ms`, { path, command: what }));
      }, timeoutMs);
      waiting.set(key, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });

  const execute = async (command: string, args?: Record<string, unknown>): Promise<unknown> => {
    const id = nextId++;
    const reply = wait(id, command);
    socket.write(`${JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id })}\n`);
    const message = await reply;
    if ('error' in message) {
      const error = message.error as { class?: string; desc?: string };
      throw vmmError(VmmMemoryErrorCode.Qmp, `QMP ${command}: ${error.desc ?? 'failed'}`, { command, class: error.class });
    }
    return message.return;
  };

  let greeting: Record<string, unknown>;
  try {
    greeting = await wait('greeting', 'the greeting (QEMU serves one client per QMP socket: is another one connected?)');
    await execute('qmp_capabilities');
  } catch (error) {
    socket.destroy();
    throw error;
  }
  const v = (greeting.QMP as { version?: { qemu?: { major: number; minor: number; micro: number } } }).version?.qemu;
  return {
    version: v === undefined ? 'unknown' : `${v.major}.${v.minor}.${v.micro}`,
    execute,
    async hmp(commandLine) {
      const text = await execute('human-monitor-command', { 'command-line': commandLine });
      if (typeof text !== 'string') throw vmmError(VmmMemoryErrorCode.Qmp, `QMP human-monitor-command ${commandLine}: no text`, { command: commandLine });
      return text;
    },
    close() {
      socket.end();
      socket.destroy();
    },
  };
}
