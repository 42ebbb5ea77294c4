/**
 * The swappable backdoor port (vmware-backdoor spec §9.2): the guest's view of one trapping
 * instruction. Three implementations share it: the native x86-64 stubs through koffi, the
 * in-process emulated VMX, and (from the VMX side) the ptrace trap-and-emulate harness.
 *
 * All register values are unsigned 32-bit numbers (0 ..= 0xFFFFFFFF). Methods return promises so
 * that an emulated VMX may answer an RPC asynchronously (the KDRPC handler waits, boundedly, for the
 * debugger); the native port resolves immediately.
 */
export interface BackdoorRegs {
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
  readonly esi: number;
  readonly edi: number;
  /** Only meaningful for high-bandwidth calls (it carries a cookie there). */
  readonly ebp?: number;
}

export interface BackdoorPort {
  /** One low-bandwidth call (I/O form `IN EAX,DX`, or VMCALL/VMMCALL with DX flags 0). */
  call(regs: BackdoorRegs): Promise<BackdoorRegs>;
  /** One high-bandwidth send (`REP OUTSB`): the VMX receives `data` (RCX = data.length). */
  hbOut(regs: BackdoorRegs, data: Uint8Array): Promise<BackdoorRegs>;
  /** One high-bandwidth receive (`REP INSB`) of `length` bytes into the guest. */
  hbIn(regs: BackdoorRegs, length: number): Promise<{ regs: BackdoorRegs; data: Uint8Array }>;
}
