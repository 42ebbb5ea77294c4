import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isVmkdError, VmkdError } from '@vmkd/kd-protocol';
import { parseKdnetKey } from '../key.js';
import { readCapture } from './capture-reader.js';
import { decodeKdnetCapture } from './kdnet-capture-decoder.js';

export const KDNET_DECODE_USAGE = `Usage: kd-decode --kdnet-key w.x.y.z [options] capture.pcap[ng][.gz]

Decrypt the KDNET sessions in a packet capture (pcap or pcapng, gzip or not; UDP over Ethernet,
Linux cooked or raw IP, IPv4 and IPv6) and print one JSON object per line: pokes and responses
on the control channel, then every KD packet with the same fields as for a KDCOM stream plus
"direction", "sequence" and "channel"; one "unauthenticated" line for each datagram that the
key (or a data key found in the capture) does not authenticate. A final {"event":"end"} line
sums it up. The data key of a session is found from its poke/response exchange, so capture from
before the debugger connects (or before the target boots).

Options:
  --kdnet-key <key>  the key given to bcdedit and WinDbg (w.x.y.z, base 36)
  --raw              add each data payload as hex ("payloadHex")
  --no-describe      do not decode KD messages
  --arch <arch>      amd64 (default) or x86
  -h, --help         show this help

Exit codes: 0 decoded, 1 the capture could not be read, 2 bad usage (a bad key included).
`;

export interface KdnetDecodeIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** `kd-decode --kdnet-key …`: what kd-decode runs when this package is installed. Resolves to the exit code. */
export async function runKdnetDecode(argv: string[], io: KdnetDecodeIo = process): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        'kdnet-key': { type: 'string' },
        raw: { type: 'boolean' },
        'no-describe': { type: 'boolean' },
        arch: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.stderr.write(`kd-decode: ${error instanceof Error ? error.message : String(error)}\n\n${KDNET_DECODE_USAGE}`);
    return 2;
  }
  if (args.values.help === true) {
    io.stdout.write(KDNET_DECODE_USAGE);
    return 0;
  }
  const arch = args.values.arch ?? 'amd64';
  if ((arch !== 'amd64' && arch !== 'x86') || args.positionals.length !== 1 || args.values['kdnet-key'] === undefined) {
    io.stderr.write(`kd-decode: give --kdnet-key, one capture file and --arch amd64|x86 at most\n\n${KDNET_DECODE_USAGE}`);
    return 2;
  }
  let keys;
  try {
    keys = parseKdnetKey(args.values['kdnet-key']);
  } catch (error) {
    io.stderr.write(`kd-decode: ${(error as Error).message}\n`);
    return 2;
  }
  const file = args.positionals[0];
  let frames;
  try {
    frames = readCapture(new Uint8Array(await readFile(file)));
  } catch (error) {
    const e = isVmkdError(error) ? error : new VmkdError('ERR_KD_DECODE_READ', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
    io.stdout.write(`${JSON.stringify({ error: e.toJSON() })}\n`);
    io.stderr.write(`kd-decode: ${e.message}\n`);
    return 1;
  }
  const decoder = decodeKdnetCapture(frames, keys, { describe: args.values['no-describe'] !== true, raw: args.values.raw === true, arch });
  let lines: string[] = [];
  const flush = async (): Promise<void> => {
    const text = `${lines.join('\n')}\n`;
    lines = [];
    if (!io.stdout.write(text)) await new Promise<void>((resolve) => io.stdout.once('drain', () => resolve()));
  };
  for (let next = decoder.next(); ; next = decoder.next()) {
    lines.push(JSON.stringify(next.value, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
    if (next.done === true) break;
    if (lines.length >= 256) await flush();
  }
  await flush();
  return 0;
}
