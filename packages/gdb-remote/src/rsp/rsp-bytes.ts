/**
 * The bytes RSP gives a meaning to (gdb manual, "Remote Protocol → Overview"), named once for the
 * decoder, the encoders and the lldb reply classifier.
 */
export const DOLLAR = 0x24;
export const HASH = 0x23;
export const PLUS = 0x2b;
export const MINUS = 0x2d;
/** `}`: the next byte is the real one XOR 0x20. */
export const ESCAPE = 0x7d;
/** `*`: run-length marker; the byte after it is the repeat count + 29. */
export const STAR = 0x2a;
/** ^C outside a packet: the client asks for a stop. */
export const INTERRUPT = 0x03;
