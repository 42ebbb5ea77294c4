export interface KdrpcProxyPipeClientOptions {
  readonly path: string;
  /** Retry budget per transaction, from the first attempt (VirtualKD's forwarder uses 1000 ms). */
  readonly timeoutMs?: number;
  /** Keep one connection for all transactions. Default false: one connection per transaction, as VirtualKD's forwarder does with `CallNamedPipe`. */
  readonly persistent?: boolean;
}

/** The forwarder side of the proxy pipe: what a VMM-side component in proxy mode does. */
export interface KdrpcProxyPipeClient {
  /** One transaction: the request body out, the reply back (empty = the dispatcher rejected it). */
  call(body: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}
