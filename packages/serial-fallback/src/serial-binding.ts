/**
 * The slice of serialport's binding interface (`@serialport/bindings-interface`) this package uses,
 * declared structurally so that serialport's native binding and `@serialport/binding-mock` both fit
 * without importing undeclared packages.
 */
export interface SerialBindingPort {
  readonly isOpen: boolean;
  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
  write(buffer: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface SerialBinding {
  open(options: {
    path: string;
    baudRate: number;
    dataBits?: 5 | 6 | 7 | 8;
    stopBits?: 1 | 1.5 | 2;
    parity?: string;
    rtscts?: boolean;
    xon?: boolean;
    xoff?: boolean;
    xany?: boolean;
    hupcl?: boolean;
  }): Promise<SerialBindingPort>;
}

let nativeBinding: Promise<SerialBinding> | undefined;

/**
 * serialport's platform binding, imported on first use so that importing this package never loads
 * native code (and works where no prebuilt binding exists).
 */
export function loadNativeSerialBinding(): Promise<SerialBinding> {
  nativeBinding ??= import('serialport').then((module) => module.SerialPort.binding as unknown as SerialBinding);
  return nativeBinding;
}
