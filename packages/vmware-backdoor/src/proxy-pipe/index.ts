export { createKdrpcProxyPipeServer } from './server.js';
export type { KdrpcProxyPipeServer, KdrpcProxyPipeServerOptions } from './server.js';
export { createKdrpcProxyPipeClient, kdrpcProxyVmxHandler } from './client.js';
export type { KdrpcProxyPipeClient, KdrpcProxyPipeClientOptions } from './client.js';
export { KDRPC_PROXY_PIPE_NAME, PROXY_PIPE_MAX_MESSAGE, ProxyFrameReader, ProxyPipeErrorCode, encodeProxyFrame } from './framing.js';
export type { ProxyPipeDropped } from './server.js';
export { kdrpcProxyPipeGuestScheme, kdrpcProxyUnixGuestScheme } from './guest-schemes.js';
export type { KdrpcProxyGuestSpec } from './guest-schemes.js';
