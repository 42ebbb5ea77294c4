/**
 * `@vmkd/byte-links/testing`: what tests of a byte link (a socket, a pipe, a pty, a paced serial
 * line) all need, written once: collect a number of bytes, see how a stream ended, take the next
 * accepted connection, and a reproducible byte pattern.
 */
export { collectBytes, endOf, nextConnection, pattern } from './byte-link-probes.js';
