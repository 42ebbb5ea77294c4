/**
 * radare2's KDNET client on the wire: its answer to the poke of the libKDNET capture (a real
 * Windows target, key 1.1.1.1, libkdnet-vectors.ts), captured from radare2 6.2.1 built with the
 * two crypto calls of `shlr/winkd/iob_net.c` fixed (docs/transports/kdnet.md §8; the release
 * rejects the poke and sends nothing). Everything else in the datagram is radare2's own: the
 * 322-byte response body, its 32 random host bytes, the poke's sequence number and version byte.
 */
export const RADARE2_RESPONSE_TO_LIBKDNET_POKE =
  '4d44424702018fb4b7ed4e9e989c989dcefc5713bd45ad2dbf0b3002f00f55165a08914a33f6fc86203ddc89318b05c4' +
  '190e411493799d7a246fd50734afb0ad0a3a817fd03556ccca3f0080a9c38469fab533f64c5588924520917173843e2e' +
  'df2ff0b8e2fb6edcbd135f46c702866d3a2ea7274764dd816d28baf3b0c93ef6a0a8d6351657066055042f507637e1c0' +
  '049531ff674e7d0bdb5f00ab6f72a71a405791c4b3d8600a35a62c46476ca800fd20a0dc817fc7a42b82149063b25b9e' +
  'e6bc6d6844b1ad16158d66e1c121999d35b775b3e27f815156838563b874c034640ed6b1925e4e8054344fa3ec8e65ba' +
  'b4db9b5b7f50336c6a8ad0091157c073753be9a14c1fc0af1592e6271c0e4aad2fde3ec837cb58bbdf16b1c0aa5b0f1a' +
  '534d4b590fe10cb443a367bf6340cc4d2bbe1473cfb0b205fa0ef75509e5d36391e64632170c0e9bd06026c31d99cdbc' +
  'a38aa8eed44c322f657053d6710620a66117135933c8';
