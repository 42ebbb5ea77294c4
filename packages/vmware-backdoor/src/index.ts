export type * from './backdoor-port.js';
