export { createTargetSession } from '@vmkd/kd-protocol';
export { createKdnetEndpointLink, createKdnetGuestLink, openTargetOverKdnet, type TargetOverKdnet } from '../src/index.js';
