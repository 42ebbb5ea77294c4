/**
 * A whole PE32+ image of a kernel-mode module, laid out as the loader maps it (PE/COFF
 * specification: DOS header, NT headers, section table, export directory, debug directory with a
 * CodeView RSDS record). SectionAlignment = FileAlignment = 0x1000 and every section's raw data
 * sits at its RVA, so the bytes a debugger reads from ImageBase … ImageBase + SizeOfImage are also a
 * valid PE file: a third-party reader (`objdump -p`) accepts a dump made through KD.
 */

export interface PeSection {
  /** Up to 8 characters. */
  readonly name: string;
  readonly rva: number;
  readonly size: number;
  /** IMAGE_SCN_* flags. */
  readonly characteristics: number;
}

export interface PeExport {
  readonly name: string;
  readonly rva: number;
}

/** CodeView RSDS record (what WinDbg uses to fetch the PDB from a symbol server). */
export interface PeCodeView {
  /** 16 bytes, in the order they are stored (the first three groups little-endian, as a GUID is). */
  readonly guid: Uint8Array;
  readonly age: number;
  /** e.g. `ntkrnlmp.pdb`. */
  readonly pdbName: string;
}

export interface PeImageSpec {
  readonly base: bigint;
  readonly sizeOfImage: number;
  readonly timeDateStamp: number;
  readonly checkSum: number;
  readonly isDll: boolean;
  readonly osMajor: number;
  readonly osMinor: number;
  /** The export directory's Name (the module's file name). */
  readonly imageName: string;
  readonly sections: readonly PeSection[];
  /** RVA of the page the export directory, debug directory and CodeView record go in (inside a read-only section). */
  readonly metadataRva: number;
  readonly entryPointRva: number;
  readonly exports: readonly PeExport[];
  readonly codeView: PeCodeView;
}

/** Section characteristics (PE/COFF "Section Flags"). */
export const SectionFlags = {
  Code: 0x00000020,
  InitializedData: 0x00000040,
  NotPaged: 0x08000000,
  Discardable: 0x02000000,
  Execute: 0x20000000,
  Read: 0x40000000,
  Write: 0x80000000,
} as const;

const S = SectionFlags;
export const TEXT = (S.Code | S.NotPaged | S.Execute | S.Read) >>> 0;
export const RDATA = (S.InitializedData | S.NotPaged | S.Read) >>> 0;
export const DATA = (S.InitializedData | S.NotPaged | S.Read | S.Write) >>> 0;
export const RELOC = (S.InitializedData | S.Discardable | S.Read) >>> 0;

export const PE_HEADER_OFFSET = 0x100;
const PAGE = 0x1000;
const DOS_STUB_CODE = [0x0e, 0x1f, 0xba, 0x0e, 0x00, 0xb4, 0x09, 0xcd, 0x21, 0xb8, 0x01, 0x4c, 0xcd, 0x21];
const DOS_STUB_TEXT = 'This program cannot be run in DOS mode.\r\r\n$';
const DIRECTORY_EXPORT = 0;
const DIRECTORY_BASERELOC = 5;
const DIRECTORY_DEBUG = 6;
const DEBUG_TYPE_CODEVIEW = 2;

/**
 * The usual section split of a driver of `sizeOfImage` bytes: .text about half, .rdata one page or
 * more (exports, debug directory), .data, and .reloc in the last page. Whole pages, inside the image.
 */
export function defaultSections(sizeOfImage: number): PeSection[] {
  const pages = Math.max(5, Math.floor(sizeOfImage / PAGE));
  const textPages = Math.max(1, Math.floor((pages - 1) / 2));
  const rdataPages = Math.max(1, Math.floor((pages - 1) / 8));
  const text = { name: '.text', rva: PAGE, size: textPages * PAGE, characteristics: TEXT };
  const rdata = { name: '.rdata', rva: text.rva + text.size, size: rdataPages * PAGE, characteristics: RDATA };
  const reloc = { name: '.reloc', rva: (pages - 1) * PAGE, size: PAGE, characteristics: RELOC };
  const data = { name: '.data', rva: rdata.rva + rdata.size, size: reloc.rva - (rdata.rva + rdata.size), characteristics: DATA };
  return [text, rdata, data, reloc];
}

const ascii = (text: string): Uint8Array => {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  return out;
};

/** The header page (DOS + NT headers + section table), 4 KiB. */
export function buildPeHeaders(spec: PeImageSpec, directories: { exportRva: number; exportSize: number; debugRva: number; debugSize: number }): Uint8Array {
  const page = new Uint8Array(PAGE);
  const v = new DataView(page.buffer);
  // IMAGE_DOS_HEADER.
  v.setUint16(0x00, 0x5a4d, true); // 'MZ'
  v.setUint16(0x02, 0x90, true);
  v.setUint16(0x04, 3, true);
  v.setUint16(0x08, 4, true);
  v.setUint16(0x0c, 0xffff, true);
  v.setUint16(0x10, 0xb8, true);
  v.setUint16(0x18, 0x40, true);
  v.setUint32(0x3c, PE_HEADER_OFFSET, true);
  page.set(DOS_STUB_CODE, 0x40);
  page.set(ascii(DOS_STUB_TEXT), 0x40 + DOS_STUB_CODE.length);

  const sections = spec.sections;
  const pe = PE_HEADER_OFFSET;
  v.setUint32(pe, 0x00004550, true); // 'PE\0\0'
  // IMAGE_FILE_HEADER.
  v.setUint16(pe + 4, 0x8664, true);
  v.setUint16(pe + 6, sections.length, true);
  v.setUint32(pe + 8, spec.timeDateStamp >>> 0, true);
  v.setUint16(pe + 20, 0xf0, true); // SizeOfOptionalHeader
  v.setUint16(pe + 22, spec.isDll ? 0x2022 : 0x0022, true); // EXECUTABLE | LARGE_ADDRESS_AWARE (| DLL)
  // IMAGE_OPTIONAL_HEADER64.
  const o = pe + 24;
  const sum = (test: (s: PeSection) => boolean): number => sections.filter(test).reduce((n, s) => n + s.size, 0);
  const code = sections.find((s) => (s.characteristics & S.Code) !== 0);
  v.setUint16(o + 0x00, 0x20b, true);
  v.setUint8(o + 0x02, spec.osMajor >= 10 ? 14 : 9);
  v.setUint8(o + 0x03, spec.osMajor >= 10 ? 10 : 0);
  v.setUint32(o + 0x04, sum((s) => (s.characteristics & S.Code) !== 0), true);
  v.setUint32(o + 0x08, sum((s) => (s.characteristics & S.InitializedData) !== 0), true);
  v.setUint32(o + 0x10, spec.entryPointRva, true);
  v.setUint32(o + 0x14, code?.rva ?? PAGE, true);
  v.setBigUint64(o + 0x18, spec.base, true);
  v.setUint32(o + 0x20, PAGE, true); // SectionAlignment
  v.setUint32(o + 0x24, PAGE, true); // FileAlignment: equal, so the mapped image is its own file
  v.setUint16(o + 0x28, spec.osMajor, true);
  v.setUint16(o + 0x2a, spec.osMinor, true);
  v.setUint16(o + 0x2c, spec.osMajor, true);
  v.setUint16(o + 0x2e, spec.osMinor, true);
  v.setUint16(o + 0x30, spec.osMajor, true);
  v.setUint16(o + 0x32, spec.osMinor, true);
  v.setUint32(o + 0x38, spec.sizeOfImage, true);
  v.setUint32(o + 0x3c, PAGE, true); // SizeOfHeaders
  v.setUint32(o + 0x40, spec.checkSum >>> 0, true);
  v.setUint16(o + 0x44, 1, true); // IMAGE_SUBSYSTEM_NATIVE
  v.setUint16(o + 0x46, spec.osMajor >= 10 ? 0x4160 : 0x0140, true); // DYNAMIC_BASE | NX_COMPAT (| HIGH_ENTROPY_VA | GUARD_CF)
  v.setBigUint64(o + 0x48, 0x80000n, true);
  v.setBigUint64(o + 0x50, 0x1000n, true);
  v.setBigUint64(o + 0x58, 0x100000n, true);
  v.setBigUint64(o + 0x60, 0x1000n, true);
  v.setUint32(o + 0x6c, 16, true); // NumberOfRvaAndSizes
  const directory = (index: number, rva: number, size: number): void => {
    v.setUint32(o + 0x70 + index * 8, rva, true);
    v.setUint32(o + 0x70 + index * 8 + 4, size, true);
  };
  directory(DIRECTORY_EXPORT, directories.exportRva, directories.exportSize);
  directory(DIRECTORY_DEBUG, directories.debugRva, directories.debugSize);
  const reloc = sections.find((s) => s.name === '.reloc');
  // One empty relocation block (page RVA, block size 8): valid, and says the image is relocatable.
  if (reloc !== undefined) directory(DIRECTORY_BASERELOC, reloc.rva, 8);
  // IMAGE_SECTION_HEADERs.
  let s = o + 0xf0;
  for (const section of sections) {
    page.set(ascii(section.name.slice(0, 8)), s);
    v.setUint32(s + 8, section.size, true); // VirtualSize
    v.setUint32(s + 12, section.rva, true);
    v.setUint32(s + 16, section.size, true); // SizeOfRawData
    v.setUint32(s + 20, section.rva, true); // PointerToRawData = RVA (FileAlignment = SectionAlignment)
    v.setUint32(s + 36, section.characteristics >>> 0, true);
    s += 40;
  }
  return page;
}

/** What goes into the image besides the headers: byte blocks at RVAs. */
export interface PeImageParts {
  readonly headers: Uint8Array;
  /** Export directory, debug directory and CodeView record, at spec.metadataRva. */
  readonly metadata: Uint8Array;
  /** The relocation block (8 bytes) at the .reloc RVA, if there is one. */
  readonly reloc?: { readonly rva: number; readonly bytes: Uint8Array };
}

export function buildPeImage(spec: PeImageSpec): PeImageParts {
  const meta = new Uint8Array(PAGE);
  const m = new DataView(meta.buffer);
  const at = spec.metadataRva;
  let cursor = 0;
  const take = (n: number, align = 4): number => {
    cursor = (cursor + align - 1) & ~(align - 1);
    const here = cursor;
    cursor += n;
    if (cursor > PAGE) throw new Error(`PE metadata of ${spec.imageName} does not fit one page`);
    return here;
  };
  const putString = (text: string): number => {
    const off = take(text.length + 1, 1);
    meta.set(ascii(text), off);
    return off;
  };
  // IMAGE_EXPORT_DIRECTORY; names sorted (the loader and debuggers binary-search them).
  const exports = [...spec.exports].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const dir = take(40);
  const functions = take(4 * exports.length);
  const names = take(4 * exports.length);
  const ordinals = take(2 * exports.length, 2);
  const dllName = putString(spec.imageName);
  exports.forEach((e, i) => {
    m.setUint32(functions + 4 * i, e.rva, true);
    m.setUint32(names + 4 * i, at + putString(e.name), true);
    m.setUint16(ordinals + 2 * i, i, true);
  });
  m.setUint32(dir + 4, spec.timeDateStamp >>> 0, true);
  m.setUint32(dir + 12, at + dllName, true);
  m.setUint32(dir + 16, 1, true); // Base
  m.setUint32(dir + 20, exports.length, true);
  m.setUint32(dir + 24, exports.length, true);
  m.setUint32(dir + 28, at + functions, true);
  m.setUint32(dir + 32, at + names, true);
  m.setUint32(dir + 36, at + ordinals, true);
  const exportSize = cursor - dir;
  // CodeView RSDS: 'RSDS', GUID, Age, PDB file name.
  const pdb = ascii(spec.codeView.pdbName);
  const cvSize = 24 + pdb.length + 1;
  const cv = take(cvSize);
  m.setUint32(cv, 0x53445352, true); // 'RSDS'
  meta.set(spec.codeView.guid.subarray(0, 16), cv + 4);
  m.setUint32(cv + 20, spec.codeView.age, true);
  meta.set(pdb, cv + 24);
  // IMAGE_DEBUG_DIRECTORY (one entry, 28 bytes).
  const debug = take(28);
  m.setUint32(debug + 4, spec.timeDateStamp >>> 0, true);
  m.setUint32(debug + 12, DEBUG_TYPE_CODEVIEW, true);
  m.setUint32(debug + 16, cvSize, true);
  m.setUint32(debug + 20, at + cv, true); // AddressOfRawData
  m.setUint32(debug + 24, at + cv, true); // PointerToRawData (= RVA, see the file comment)
  const headers = buildPeHeaders(spec, { exportRva: at + dir, exportSize, debugRva: at + debug, debugSize: 28 });
  const relocSection = spec.sections.find((s) => s.name === '.reloc');
  const reloc =
    relocSection === undefined
      ? undefined
      : (() => {
          const bytes = new Uint8Array(8);
          const r = new DataView(bytes.buffer);
          r.setUint32(0, relocSection.rva, true); // a block for the .reloc page itself, no entries
          r.setUint32(4, 8, true);
          return { rva: relocSection.rva, bytes };
        })();
  return { headers, metadata: meta.subarray(0, cursor), ...(reloc === undefined ? {} : { reloc }) };
}

/** A stable 16-byte GUID for `seed` (a build and a PDB name): the same on every boot of that build. */
export function stableGuid(seed: string): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  for (let word = 0; word < 4; word++) {
    let h = (0x811c9dc5 ^ (word * 0x9e3779b9)) >>> 0;
    for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    v.setUint32(word * 4, (h ^ (h >>> 12)) >>> 0, true);
  }
  out[7] = (out[7] & 0x0f) | 0x40; // version 4 (random-looking), RFC 4122 variant
  out[8] = (out[8] & 0x3f) | 0x80;
  return out;
}
