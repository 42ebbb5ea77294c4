/**
 * The few devices a debugger can reach through KD's I/O and bus-data APIs: a 16550 UART at COM1
 * (ports 0x3F8–0x3FF) and a PCI bus 0 behind configuration mechanism #1 (address port 0xCF8,
 * data ports 0xCFC–0xCFF; PCI Local Bus Specification 3.0, 3.2.2.3.2), with the devices of a small
 * PC: host bridge, ISA bridge, IDE controller, VGA and a network card. Register state only: nothing
 * is transmitted or decoded beyond what reads and writes of the registers show.
 */

/** One PCI function's 256-byte configuration space and which bits of it are writable. */
interface PciFunction {
  readonly config: Uint8Array;
  /** Per byte, the bits software may change. */
  readonly writable: Uint8Array;
}

export interface PciDeviceSpec {
  readonly device: number;
  readonly fn: number;
  readonly vendorId: number;
  readonly deviceId: number;
  /** Class code, subclass, programming interface. */
  readonly classCode: readonly [number, number, number];
  readonly revision: number;
  readonly headerType: number;
  /** BARs as [value, size in bytes]; size 0 = unused. I/O BARs have bit 0 set in the value. */
  readonly bars?: readonly (readonly [number, number])[];
  readonly interruptLine?: number;
  readonly interruptPin?: number;
  readonly subsystem?: readonly [number, number];
}

/** The devices of the virtual PC (bus 0). */
export const PCI_DEVICES: readonly PciDeviceSpec[] = [
  { device: 0, fn: 0, vendorId: 0x8086, deviceId: 0x1237, classCode: [0x06, 0x00, 0x00], revision: 0x02, headerType: 0x00 },
  { device: 1, fn: 0, vendorId: 0x8086, deviceId: 0x7000, classCode: [0x06, 0x01, 0x00], revision: 0x00, headerType: 0x80 },
  { device: 1, fn: 1, vendorId: 0x8086, deviceId: 0x7010, classCode: [0x01, 0x01, 0x80], revision: 0x00, headerType: 0x00, bars: [[0, 0], [0, 0], [0, 0], [0, 0], [0xc041, 16]] },
  { device: 2, fn: 0, vendorId: 0x1234, deviceId: 0x1111, classCode: [0x03, 0x00, 0x00], revision: 0x02, headerType: 0x00, bars: [[0xfd000008, 0x1000000], [0, 0], [0xfebf0000, 0x1000]] },
  {
    device: 3,
    fn: 0,
    vendorId: 0x8086,
    deviceId: 0x100e,
    classCode: [0x02, 0x00, 0x00],
    revision: 0x03,
    headerType: 0x00,
    bars: [[0xfebc0000, 0x20000], [0xc001, 0x40]],
    interruptLine: 11,
    interruptPin: 1,
    subsystem: [0x8086, 0x001e],
  },
];

/** HAL bus data types (BUS_DATA_TYPE): the one KD's Get/SetBusData serve here. */
export const BusDataType = { PCIConfiguration: 4 } as const;

function makeFunction(spec: PciDeviceSpec): PciFunction {
  const config = new Uint8Array(256);
  const writable = new Uint8Array(256);
  const v = new DataView(config.buffer);
  v.setUint16(0x00, spec.vendorId, true);
  v.setUint16(0x02, spec.deviceId, true);
  v.setUint16(0x04, 0x0007, true); // Command: I/O, memory, bus master
  v.setUint16(0x06, 0x0280, true); // Status: fast back-to-back, medium DEVSEL
  config[0x08] = spec.revision;
  config[0x09] = spec.classCode[2];
  config[0x0a] = spec.classCode[1];
  config[0x0b] = spec.classCode[0];
  config[0x0e] = spec.headerType;
  writable[0x04] = 0xff; // Command
  writable[0x05] = 0x07;
  writable[0x0c] = 0xff; // Cache line size
  writable[0x0d] = 0xff; // Latency timer
  (spec.bars ?? []).forEach(([value, size], i) => {
    v.setUint32(0x10 + i * 4, value >>> 0, true);
    if (size === 0) return;
    // Writable address bits: everything above the size (sizing by writing all ones, PCI 3.0 6.2.5.1).
    const low = value & 1 ? 0x3 : 0xf;
    const mask = (~(size - 1) & ~low) >>> 0;
    new DataView(writable.buffer).setUint32(0x10 + i * 4, mask, true);
  });
  if (spec.subsystem !== undefined) {
    v.setUint16(0x2c, spec.subsystem[0], true);
    v.setUint16(0x2e, spec.subsystem[1], true);
  }
  config[0x3c] = spec.interruptLine ?? 0xff;
  config[0x3d] = spec.interruptPin ?? 0;
  writable[0x3c] = 0xff; // Interrupt line
  return { config, writable };
}

/** PCI bus 0: configuration space reads and writes by device and function. */
export class PciBus {
  private readonly functions = new Map<number, PciFunction>();

  constructor(devices: readonly PciDeviceSpec[] = PCI_DEVICES) {
    for (const d of devices) this.functions.set(d.device * 8 + d.fn, makeFunction(d));
  }

  has(bus: number, device: number, fn: number): boolean {
    return bus === 0 && this.functions.has(device * 8 + fn);
  }

  /**
   * Reads configuration bytes. An absent function reads as all ones (vendor 0xFFFF), as a PCI host
   * bridge answers a master abort; undefined only for a range outside the 256-byte space.
   */
  read(bus: number, device: number, fn: number, offset: number, length: number): Uint8Array | undefined {
    if (offset < 0 || length < 0 || offset >= 256) return undefined;
    const n = Math.min(length, 256 - offset);
    const f = bus === 0 ? this.functions.get(device * 8 + fn) : undefined;
    return f === undefined ? new Uint8Array(n).fill(0xff) : f.config.slice(offset, offset + n);
  }

  /** Writes configuration bytes through the writable mask; returns the count taken (0 for an absent function). */
  write(bus: number, device: number, fn: number, offset: number, data: Uint8Array): number {
    const f = bus === 0 ? this.functions.get(device * 8 + fn) : undefined;
    if (f === undefined || offset < 0 || offset >= 256) return 0;
    const n = Math.min(data.length, 256 - offset);
    for (let i = 0; i < n; i++) {
      const at = offset + i;
      const mask = f.writable[at];
      f.config[at] = (f.config[at] & ~mask) | (data[i] & mask);
    }
    return n;
  }
}

/** UART register offsets from the base port (16550 data sheet). */
const Uart = { Data: 0, Ier: 1, IirFcr: 2, Lcr: 3, Mcr: 4, Lsr: 5, Msr: 6, Scratch: 7 } as const;
export const COM1_BASE = 0x3f8;
export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;

/** Port I/O of the virtual PC: COM1's 16550 and PCI configuration mechanism #1. */
export class IoPorts {
  private readonly uart = { ier: 0, lcr: 0x03, mcr: 0x0b, scratch: 0, dll: 0x01, dlm: 0x00, fifo: 0 };
  /** Bytes written to COM1's transmit register (the UART has no wire behind it). */
  readonly transmitted: number[] = [];
  private configAddress = 0;

  constructor(private readonly pci: PciBus) {}

  /** Reads `size` (1, 2 or 4) bytes from a port; undefined for a port nothing decodes or a bad size. */
  read(port: number, size: number): number | undefined {
    if (size !== 1 && size !== 2 && size !== 4) return undefined;
    if (port >= COM1_BASE && port < COM1_BASE + 8 && size === 1) return this.readUart(port - COM1_BASE);
    if (port === PCI_CONFIG_ADDRESS && size === 4) return this.configAddress >>> 0;
    if (port >= PCI_CONFIG_DATA && port + size <= PCI_CONFIG_DATA + 4) {
      const bytes = this.configTarget(port - PCI_CONFIG_DATA, size);
      if (bytes === undefined) return size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
      let value = 0;
      for (let i = size - 1; i >= 0; i--) value = value * 256 + bytes[i];
      return value >>> 0;
    }
    return undefined;
  }

  /** Writes a port; false for a port nothing decodes or a bad size. */
  write(port: number, size: number, value: number): boolean {
    if (size !== 1 && size !== 2 && size !== 4) return false;
    if (port >= COM1_BASE && port < COM1_BASE + 8 && size === 1) {
      this.writeUart(port - COM1_BASE, value & 0xff);
      return true;
    }
    if (port === PCI_CONFIG_ADDRESS && size === 4) {
      this.configAddress = (value & 0x80fffffc) >>> 0; // enable, bus, device, function, dword register
      return true;
    }
    if (port >= PCI_CONFIG_DATA && port + size <= PCI_CONFIG_DATA + 4) {
      const a = this.configAddress;
      if ((a & 0x80000000) === 0) return true; // disabled: the cycle goes nowhere
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = (value >>> (8 * i)) & 0xff;
      this.pci.write((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 7, (a & 0xfc) + (port - PCI_CONFIG_DATA), data);
      return true;
    }
    return false;
  }

  private configTarget(byteOffset: number, size: number): Uint8Array | undefined {
    const a = this.configAddress;
    if ((a & 0x80000000) === 0) return undefined;
    return this.pci.read((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 7, (a & 0xfc) + byteOffset, size);
  }

  private readUart(register: number): number {
    const u = this.uart;
    const dlab = (u.lcr & 0x80) !== 0;
    switch (register) {
      case Uart.Data:
        return dlab ? u.dll : 0; // receive buffer: nothing ever arrives
      case Uart.Ier:
        return dlab ? u.dlm : u.ier;
      case Uart.IirFcr:
        return (u.fifo & 1 ? 0xc0 : 0) | 0x01; // no interrupt pending
      case Uart.Lcr:
        return u.lcr;
      case Uart.Mcr:
        return u.mcr;
      case Uart.Lsr:
        return 0x60; // transmitter holding register and shift register empty
      case Uart.Msr:
        return 0xb0; // DCD, DSR, CTS
      default:
        return u.scratch;
    }
  }

  private writeUart(register: number, value: number): void {
    const u = this.uart;
    const dlab = (u.lcr & 0x80) !== 0;
    switch (register) {
      case Uart.Data:
        if (dlab) u.dll = value;
        else if (this.transmitted.length < 4096) this.transmitted.push(value);
        break;
      case Uart.Ier:
        if (dlab) u.dlm = value;
        else u.ier = value & 0x0f;
        break;
      case Uart.IirFcr:
        u.fifo = value & 1;
        break;
      case Uart.Lcr:
        u.lcr = value;
        break;
      case Uart.Mcr:
        u.mcr = value & 0x1f;
        break;
      case Uart.Scratch:
        u.scratch = value;
        break;
      default:
        break; // LSR and MSR are read-only
    }
  }
}
