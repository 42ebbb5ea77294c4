/**
 * The KDCOM shape of one memory read (spec §9, anchor 5): a data frame with the 56-byte manipulate
 * header (16 + 56 + 1), the target's ACK (16), the reply with 4000 bytes of body (16 + 4000 + 1),
 * and the debugger's ACK (16). 4,122 bytes on the wire carrying 3,944 bytes of memory.
 */
export const READ_PATTERN = {
  request: 16 + 56 + 1,
  ack: 16,
  reply: 16 + 4000 + 1,
  payload: 3944,
} as const;
export const WIRE_BYTES_PER_READ = READ_PATTERN.request + READ_PATTERN.ack + READ_PATTERN.reply + READ_PATTERN.ack;
