import type { Observable } from 'rxjs';
import type { PacketLink } from '@vmkd/kd-protocol';

/** A guest transport ready for the router: its target-facing link and what else to tear down. */
export interface OpenedGuest {
  readonly link: PacketLink;
  /** One line for status output: what the guest is and where it is. */
  readonly description: string;
  /** Things worth telling the user that are not KD link events (reconnect attempts, refused peers). */
  readonly notices$?: Observable<string>;
  /** Closes the link and anything behind it (an in-process target, a listener). Idempotent. */
  close(): Promise<void>;
}
