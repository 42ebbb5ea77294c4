export { hex, LIBKDNET_KEY, libKdnet } from './libkdnet-vectors.js';
export { RADARE2_RESPONSE_TO_LIBKDNET_POKE } from './radare2-vectors.js';
