/**
 * `@vmkd/kdnet/decode`: reading KDNET sessions out of packet captures, and the command that
 * `kd-decode --kdnet-key` runs (kd-protocol delegates to it when this package is installed).
 */
export { readCapture, type CapturedFrame } from './capture-reader.js';
export { udpInFrame, type CapturedUdp } from './udp-datagram.js';
export { createPcapRecorder, type PcapRecorder } from './capture-writer.js';
export { decodeKdnetCapture, type KdnetCaptureSummary, type DecodeCaptureOptions } from './kdnet-capture-decoder.js';
export { runKdnetDecode, KDNET_DECODE_USAGE, type KdnetDecodeIo } from './kdnet-decode-command.js';
