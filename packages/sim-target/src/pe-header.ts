/**
 * A plausible PE32+ header page for a kernel-mode image, so a debugger reading an image base
 * (MZ → e_lfanew → PE → optional header) finds the machine, SizeOfImage, ImageBase, TimeDateStamp
 * and CheckSum it matches against the module list. Only headers are generated; image bodies are
 * not part of the simulation beyond what the kernel model maps itself.
 */

export interface PeImageSpec {
  readonly base: bigint;
  readonly sizeOfImage: number;
  readonly timeDateStamp: number;
  readonly checkSum: number;
  readonly isDll: boolean;
  readonly osMajor: number;
  readonly osMinor: number;
}

export const PE_HEADER_OFFSET = 0x100;
const DOS_STUB_CODE = [0x0e, 0x1f, 0xba, 0x0e, 0x00, 0xb4, 0x09, 0xcd, 0x21, 0xb8, 0x01, 0x4c, 0xcd, 0x21];
const DOS_STUB_TEXT = 'This program cannot be run in DOS mode.\r\r\n$';

interface Section {
  name: string;
  rva: number;
  size: number;
  characteristics: number;
}

function sectionsFor(sizeOfImage: number): Section[] {
  // .text takes the first half, .data a quarter, .reloc the last page: whole pages, inside the image.
  const pages = Math.max(4, Math.floor(sizeOfImage / 0x1000));
  const textPages = Math.max(1, Math.floor((pages - 1) / 2));
  const dataPages = Math.max(1, Math.floor((pages - 1) / 4));
  const text = { name: '.text', rva: 0x1000, size: textPages * 0x1000, characteristics: 0x68000020 };
  const data = { name: '.data', rva: text.rva + text.size, size: dataPages * 0x1000, characteristics: 0xc8000040 };
  const reloc = { name: '.reloc', rva: (pages - 1) * 0x1000, size: 0x1000, characteristics: 0x42000040 };
  return [text, data, reloc];
}

/** The first page (4 KiB) of the image. */
export function buildPeHeaderPage(spec: PeImageSpec): Uint8Array {
  const page = new Uint8Array(0x1000);
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
  page.set(new TextEncoder().encode(DOS_STUB_TEXT), 0x40 + DOS_STUB_CODE.length);

  const sections = sectionsFor(spec.sizeOfImage);
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
  const text = sections[0];
  v.setUint16(o + 0x00, 0x20b, true);
  v.setUint8(o + 0x02, spec.osMajor >= 10 ? 14 : 9);
  v.setUint32(o + 0x04, text.size, true);
  v.setUint32(o + 0x08, spec.sizeOfImage - text.size - 0x1000, true);
  v.setUint32(o + 0x10, text.rva + 0x10, true); // AddressOfEntryPoint
  v.setUint32(o + 0x14, text.rva, true);
  v.setBigUint64(o + 0x18, spec.base, true);
  v.setUint32(o + 0x20, 0x1000, true);
  v.setUint32(o + 0x24, 0x200, true);
  v.setUint16(o + 0x28, spec.osMajor, true);
  v.setUint16(o + 0x2a, spec.osMinor, true);
  v.setUint16(o + 0x2c, spec.osMajor, true);
  v.setUint16(o + 0x2e, spec.osMinor, true);
  v.setUint16(o + 0x30, spec.osMajor, true);
  v.setUint16(o + 0x32, spec.osMinor, true);
  v.setUint32(o + 0x38, spec.sizeOfImage, true);
  v.setUint32(o + 0x3c, 0x400, true); // SizeOfHeaders
  v.setUint32(o + 0x40, spec.checkSum >>> 0, true);
  v.setUint16(o + 0x44, 1, true); // IMAGE_SUBSYSTEM_NATIVE
  v.setUint16(o + 0x46, spec.osMajor >= 10 ? 0x4160 : 0x0140, true);
  v.setBigUint64(o + 0x48, 0x40000n, true);
  v.setBigUint64(o + 0x50, 0x1000n, true);
  v.setBigUint64(o + 0x58, 0x100000n, true);
  v.setBigUint64(o + 0x60, 0x1000n, true);
  v.setUint32(o + 0x6c, 16, true); // NumberOfRvaAndSizes
  // DataDirectory[5] = base relocations: the .reloc section.
  const reloc = sections[2];
  v.setUint32(o + 0x70 + 5 * 8, reloc.rva, true);
  v.setUint32(o + 0x70 + 5 * 8 + 4, 0x100, true);
  // IMAGE_SECTION_HEADERs.
  let s = o + 0xf0;
  const enc = new TextEncoder();
  for (const section of sections) {
    page.set(enc.encode(section.name), s);
    v.setUint32(s + 8, section.size, true);
    v.setUint32(s + 12, section.rva, true);
    v.setUint32(s + 16, section.size, true);
    v.setUint32(s + 20, section.rva, true);
    v.setUint32(s + 36, section.characteristics >>> 0, true);
    s += 40;
  }
  return page;
}
