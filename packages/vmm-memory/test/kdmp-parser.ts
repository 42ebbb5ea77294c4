import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** kdmp-parser's `parser` tool: $KDMP_PARSER, or `parser` on PATH with kdmp-parser's help text; undefined when absent. */
export function findKdmpParser(): string | undefined {
  const given = process.env.KDMP_PARSER;
  if (given !== undefined && given !== '') return existsSync(given) ? given : undefined;
  const r = spawnSync('parser', ['-h'], { encoding: 'utf8' });
  return r.error === undefined && r.stdout.includes('<kdump path>') ? 'parser' : undefined;
}

export interface KdmpParserView {
  readonly fields: ReadonlyMap<string, bigint>;
  readonly page: Uint8Array | undefined;
  readonly stdout: string;
}

/** Runs `parser -c -e -p PA dump` and reads back its context and exception fields and the page hexdump. */
export function runKdmpParser(parser: string, dump: string, pa: bigint): KdmpParserView {
  const r = spawnSync(parser, ['-c', '-e', '-p', `0x${pa.toString(16)}`, dump], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kdmp-parser failed (${r.status}): ${r.stdout}${r.stderr}`);
  const fields = new Map<string, bigint>();
  // Exception record: `+0x0000: ExceptionCode            : 0x80000003.`
  for (const m of r.stdout.matchAll(/\+0x[0-9a-f]+: (\w+(?:\[\d+\])?)\s*: 0x([0-9a-f]+)\./g)) fields.set(m[1], BigInt(`0x${m[2]}`));
  // Context record, WinDbg style: `rip=fffff80000400000 rsp=…`
  for (const m of r.stdout.matchAll(/\b(r[a-z0-9]{1,2}|efl)=([0-9a-f]{8,16})\b/g)) fields.set(m[1], BigInt(`0x${m[2]}`));
  const bytes: number[] = [];
  for (const m of r.stdout.matchAll(/^[0-9a-f]{8,}: ((?:[0-9a-f]{2} ){16})/gm)) for (const b of m[1].trim().split(' ')) bytes.push(parseInt(b, 16));
  return { fields, page: bytes.length === 4096 ? Uint8Array.from(bytes) : undefined, stdout: r.stdout };
}
