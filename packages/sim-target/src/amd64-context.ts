/**
 * What the simulator adds to the AMD64 CONTEXT and KSPECIAL_REGISTERS layouts kd-protocol owns
 * (`Amd64ContextOffset`, `Amd64SpecialRegisterOffset`, KD spec 2.6): the simulator keeps each
 * CPU's context inside its KPRCB.ProcessorState in simulated memory, so those offsets are applied
 * to views of that memory.
 */

/** Kernel selectors of x64 Windows (KGDT64_*): what a CPU stopped in kernel mode shows. */
export const Selector = { KernelCode: 0x10, KernelData: 0x18, UserData: 0x2b, UserCode: 0x33, CompatCode: 0x23, CompatTeb: 0x53, Tss: 0x40 } as const;

export function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
