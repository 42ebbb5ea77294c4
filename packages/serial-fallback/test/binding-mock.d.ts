// @serialport/binding-mock 10.2.2 ships types, but its package.json "exports" hides them from
// NodeNext resolution (TS7016). This declares the part the tests use.
declare module '@serialport/binding-mock' {
  interface MockPortBinding {
    readonly isOpen: boolean;
    recording: Buffer;
    emitData(data: Buffer | string): void;
    read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }>;
    write(buffer: Buffer): Promise<void>;
    close(): Promise<void>;
  }
  export const MockBinding: {
    createPort(path: string, options?: { echo?: boolean; record?: boolean }): void;
    reset(): void;
    open(options: { path: string; baudRate: number }): Promise<MockPortBinding>;
  };
}
