/**
 * `@vmkd/kd-protocol`: what a user of the KD protocol calls, named one by one.
 * Test kits (in-memory pairs, the virtual clock, the PacketLink conformance suite) are also under
 * `@vmkd/kd-protocol/testing`; helpers that only sibling packages and kd-protocol's own tests need
 * are under `@vmkd/kd-protocol/internal`.
 */
export { LinkErrorCode, VmkdError, isVmkdError } from './errors.js';
export type { VmkdErrorOptions } from './errors.js';
export { FRAME_ROOM, emptyLinkStats } from './packet-link.js';
export type { KdPacket, LinkEvent, LinkRole, LinkStats, PacketLink } from './packet-link.js';
export type { ByteLink, ByteLinkListener, ByteLinkStats } from './byte-link.js';
export type { MemoryAccess, ResumeOptions, StopReason, TargetBackend, TargetEvent, TargetVersion } from './target-backend.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { DEFAULT_HELD_EVENTS, createHeldEvents } from './held-events.js';
export type { HeldEvents } from './held-events.js';
export type { DebuggerCommandLine, EndpointSchemeProvider, GuestOptionProvider, GuestSchemeProvider, OpenContext, OpenedLink, SchemeUri, SimFacts, SimSetup, SimVariantProvider, WireDatagram } from './scheme-provider.js';
export { KdApi, KdControlRequestApi, KdDebugIoApi, KdFileIoApi, KdLimits, KdPacketType, KdStateChange, KdTraceIoApi, NtStatus, kdApiName, ntSuccess, packetTypeName } from './api/constants.js';
export type { KdApiName } from './api/constants.js';
export { AMD64_CONTEXT_REGISTERS, ContextFlag, CpuContext, X86_CONTEXT_REGISTERS, decodeAmd64Context, decodeAmd64SpecialRegisters, encodeAmd64SpecialRegisters, encodeContext } from './api/context.js';
export type { Amd64SpecialRegisters } from './api/context.js';
export { DR6_CLEAR, DR6_SINGLE_STEP, DR7_RESERVED, decodeDr7, dr6Slots, encodeDr7 } from './api/debug-registers.js';
export type { Dr7Slot, HardwareBreakpoint, HardwareBreakpointKind } from './api/debug-registers.js';
export { peekApiNumber } from './api/api-number.js';
export { describeKdPacket } from './api/describe.js';
export { KdApiErrorCode } from './api/errors.js';
export { controlRequest, debugIo, debugIoText, decodeControlRequest, decodeDebugIo, decodeFileIo, decodeTraceIo, encodeControlRequest, encodeDebugIo, encodeFileIo, encodePrintString, encodeTraceIo, fileIo, traceIo } from './api/io.js';
export type { ControlRequest, ControlRequestInit, DebugIo, DebugIoInit, FileIo, FileIoInit, TraceIo, TraceIoInit } from './api/io.js';
export { BREAKPOINT_ENTRY_SIZE, BusDataType, FillMemoryFlag, MANIPULATE_HEADER, MANIPULATE_LAYOUTS, MANIPULATE_UNION_OFFSET, QueryMemoryFlag, QueryMemorySpace, createManipulate, decodeBreakpointEntries, decodeManipulate, encodeBreakpointEntries, encodeManipulate, isMemoryTransferApi, manipulateLayoutOf } from './api/manipulate.js';
export type { BreakpointEntry, KdArch, ManipulateDecodeOptions, ManipulateHeader, ManipulateInit, ManipulateLayoutName, ManipulateOf, ManipulateState } from './api/manipulate.js';
export { decodeWaitStateChange, encodeWaitStateChange, stateChangeKindOf } from './api/state-change.js';
export type { StateChangeDecodeOptions, StateChangeKind, WaitStateChange, WaitStateChangeInit, WaitStateChangeOf } from './api/state-change.js';
export { KdMachineType, KdVersionFlag, decodeGetVersion64, encodeGetVersion64 } from './api/version.js';
export type { GetVersion64 } from './api/version.js';
export { kdChecksum } from './kdcom/checksum.js';
export type { KdcomClock } from './kdcom/clock.js';
export { BREAKIN_BYTE, CONTROL_LEADER_BYTE, CONTROL_PACKET_LEADER, DATA_LEADER_BYTE, DATA_PACKET_LEADER, INITIAL_PACKET_ID, KD_HEADER_SIZE, PACKET_MAX_ACCEPT, PACKET_MAX_SIZE, SYNC_PACKET_ID, TRAILER_BYTE } from './kdcom/constants.js';
export { KdcomErrorCode } from './kdcom/errors.js';
export type { BadFrameReason } from './kdcom/errors.js';
export { formatKdcomEvent } from './kdcom/format-event.js';
export type { FormatKdcomEventOptions } from './kdcom/format-event.js';
export { KdcomFrameDecoder, decodeKdcomFrames } from './kdcom/frame-decoder.js';
export type { KdcomBadFrame, KdcomControlFrame, KdcomDataFrame, KdcomFrameEvent, LeaderKind } from './kdcom/frame-decoder.js';
export { encodeControlFrame, encodeDataFrame } from './kdcom/frame-encoder.js';
export { createKdcomLink } from './kdcom/kdcom-link.js';
export type { KdcomLinkOptions } from './kdcom/kdcom-link.js';
export { KdcomLinkMachine } from './kdcom/link-machine.js';
export { FRESH_TARGET_SEND_ID, nextPacketId, stripSync } from './kdcom/packet-ids.js';
export { isQuickTimeoutPacket } from './kdcom/quick-timeout.js';
export { createVirtualClock } from './kdcom/virtual-clock.js';
export type { VirtualClock } from './kdcom/virtual-clock.js';
export { KDRPC_COMMAND_NAME, KDRPC_MAX_DATA, KDRPC_REPLY_SIGNATURE, KDRPC_REQUEST_PREFIX, KDRPC_STATUS_PREFIX, KDRPC_TEST_PATTERN_LENGTH, KdRecvCode, KdrpcCommand, KdrpcGlobals, KdrpcSize, KdrpcVersion, kdrpcGlobals } from './kdrpc/constants.js';
export type { KdrpcCommandByte } from './kdrpc/constants.js';
export { KdrpcErrorCode } from './kdrpc/errors.js';
export type { KdrpcErrorCodeValue } from './kdrpc/errors.js';
export { decodeKdrpcReply, encodeKdrpcReply, withKdrpcStatusPrefix } from './kdrpc/reply.js';
export type { DecodeKdrpcReplyOptions } from './kdrpc/reply.js';
export { decodeKdrpcRequest, encodeKdrpcRequest, kdrpcTestRequest, stripKdrpcPrefix, withKdrpcPrefix } from './kdrpc/request.js';
export { checkKdrpcTestPattern, kdrpcTestPattern } from './kdrpc/test-pattern.js';
export { EMPTY_KD_CONTEXT, EMPTY_SKB } from './kdrpc/types.js';
export type { KdContext, KdrpcCommandName, KdrpcReply, KdrpcRequest, SendableKdBuffer } from './kdrpc/types.js';
export { createMemoryBytePair } from './memory/memory-byte-pair.js';
export type { ByteFault, MemoryByteLink, MemoryBytePairOptions, MemoryDirection } from './memory/memory-byte-pair.js';
export { createMemoryPacketPair } from './memory/memory-packet-pair.js';
export type { MemoryPacketLink, MemoryPacketPairOptions } from './memory/memory-packet-pair.js';
export { DebuggerSession, createDebuggerSession } from './session/debugger-session.js';
export type { BusSlot, CallOptions, ContinueOptions, DebuggerEvent, DebuggerSessionOptions, DebuggerState, IoSpaceAddress, MemoryOptions, MemoryQuery, MemoryReadResult, MemoryWriteResult, PhysicalMemoryOptions } from './session/debugger-session.js';
export { KdSessionErrorCode } from './session/errors.js';
export { buildStateChange } from './session/state-change-builder.js';
export { createTargetSession } from './session/target-session.js';
/** The most bytes one SearchMemory request scans on the target; the memory fast path answers with the same bound. */
export { MAX_SEARCH } from './session/memory-ops.js';
export type { TargetActivity, TargetSession, TargetSessionOptions } from './session/target-session.js';
