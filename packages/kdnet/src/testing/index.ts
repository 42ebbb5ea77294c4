export { hex, LIBKDNET_KEY, libKdnet } from './libkdnet-vectors.js';
