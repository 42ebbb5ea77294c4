import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { isVmkdError, VmkdError } from '../errors.js';
import { formatKdcomEvent } from '../kdcom/format-event.js';
import { KdcomFrameDecoder, type KdcomFrameEvent } from '../kdcom/frame-decoder.js';
import { HexTextDecoder } from './hex-text.js';

export const KD_DECODE_USAGE = `Usage: kd-decode [options] [file]

Decode a KDCOM byte stream (a capture of a kernel-debugger serial line, pipe or socket) and print
one JSON object per line for every event: frames (leader kind, packet type name, id, byte count,
checksum verdict and, for data packets, the decoded KD message), bad frames, skipped garbage,
resyncs and break-ins. A final {"event":"end"} line sums it up.

Reads the file, or standard input when no file (or "-") is given.

Options:
  --hex           the input is hex text (whitespace and newlines ignored), not raw bytes
  --raw           add each data payload as hex ("payloadHex")
  --no-describe   do not decode KD messages inside data packets
  --arch <arch>   amd64 (default) or x86, for messages whose layout depends on it
  --kdnet-key <k> decrypt a KDNET packet capture (pcap/pcapng) instead; needs @vmkd/kdnet
                  (see kd-decode --kdnet-key x --help once it is installed)
  -h, --help      show this help

Exit codes: 0 decoded (whatever the stream held), 1 the input could not be read, 2 bad usage.

Example:
  printf '62 69696969 06000000 00000000 00000000' | kd-decode --hex
`;

export interface KdDecodeIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface Summary {
  event: 'end';
  bytes: number;
  dataFrames: number;
  controlFrames: number;
  badFrames: number;
  garbageBytes: number;
  breakins: number;
  resyncs: number;
}

/** Run kd-decode with `argv` (no node/script prefix). Resolves to the exit code. */
export async function runKdDecode(argv: string[], io: KdDecodeIo = process): Promise<number> {
  if (argv.some((a) => a === '--kdnet-key' || a.startsWith('--kdnet-key='))) return runKdnetDecodeIfInstalled(argv, io);
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    io.stderr.write(`kd-decode: ${error instanceof Error ? error.message : String(error)}\n\n${KD_DECODE_USAGE}`);
    return 2;
  }
  if (args.values.help === true) {
    io.stdout.write(KD_DECODE_USAGE);
    return 0;
  }
  const arch = args.values.arch ?? 'amd64';
  if (arch !== 'amd64' && arch !== 'x86') {
    io.stderr.write(`kd-decode: --arch must be amd64 or x86, not ${arch}\n`);
    return 2;
  }
  if (args.positionals.length > 1) {
    io.stderr.write(`kd-decode: at most one input file\n\n${KD_DECODE_USAGE}`);
    return 2;
  }
  const file = args.positionals[0];
  const input = file === undefined || file === '-' ? io.stdin : createReadStream(file);
  const formatOptions = { describe: args.values['no-describe'] !== true, raw: args.values.raw === true, arch } as const;

  const summary: Summary = { event: 'end', bytes: 0, dataFrames: 0, controlFrames: 0, badFrames: 0, garbageBytes: 0, breakins: 0, resyncs: 0 };
  let lines: string[] = [];
  const decoder = new KdcomFrameDecoder((event) => {
    count(summary, event);
    lines.push(JSON.stringify(formatKdcomEvent(event, formatOptions)));
  });
  const hexText = args.values.hex === true ? new HexTextDecoder() : undefined;
  const flushLines = async (): Promise<void> => {
    if (lines.length === 0) return;
    const text = `${lines.join('\n')}\n`;
    lines = [];
    if (!io.stdout.write(text)) await new Promise<void>((resolve) => io.stdout.once('drain', () => resolve()));
  };

  try {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      const { bytes, error } =
        hexText !== undefined ? hexText.push(typeof chunk === 'string' ? chunk : chunk.toString('latin1')) : { bytes: typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk };
      summary.bytes += bytes.length;
      decoder.push(bytes);
      await flushLines();
      if (error !== undefined) throw error;
    }
    if (hexText?.incomplete === true) throw new VmkdError('ERR_KD_DECODE_BAD_HEX', 'odd number of hex digits: the last byte is incomplete');
  } catch (error) {
    const e = isVmkdError(error)
      ? error
      : new VmkdError('ERR_KD_DECODE_READ', `cannot read ${file ?? 'standard input'}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    decoder.flush();
    lines.push(JSON.stringify({ error: e.toJSON() }));
    await flushLines();
    io.stderr.write(`kd-decode: ${e.message}\n`);
    return 1;
  }
  decoder.flush();
  lines.push(JSON.stringify(summary));
  await flushLines();
  return 0;
}

/**
 * KDNET captures are decoded by `@vmkd/kdnet` (its pcap reader and crypto); kd-protocol may not
 * depend on it (packages depend only downward), so it is looked up at run time and used when
 * installed. Decision record 0016.
 */
async function runKdnetDecodeIfInstalled(argv: string[], io: KdDecodeIo): Promise<number> {
  const specifier = '@vmkd/kdnet/decode';
  let module: { runKdnetDecode(argv: string[], io: KdDecodeIo): Promise<number> };
  try {
    module = (await import(specifier)) as typeof module;
  } catch {
    io.stderr.write('kd-decode: --kdnet-key needs the @vmkd/kdnet package (npm install @vmkd/kdnet)\n');
    return 2;
  }
  return module.runKdnetDecode(argv, io);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      hex: { type: 'boolean' },
      raw: { type: 'boolean' },
      'no-describe': { type: 'boolean' },
      arch: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function count(s: Summary, e: KdcomFrameEvent): void {
  switch (e.kind) {
    case 'data':
      s.dataFrames++;
      return;
    case 'control':
      s.controlFrames++;
      return;
    case 'bad-frame':
      s.badFrames++;
      return;
    case 'garbage':
      s.garbageBytes += e.count;
      return;
    case 'breakin':
      s.breakins++;
      return;
    case 'resync':
      s.resyncs++;
  }
}

/** Entry point of the `kd-decode` bin. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  // A reader closing the pipe early (`kd-decode cap.bin | head`) is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.exitCode = await runKdDecode(argv);
}
