import type { LinkNotice } from './persistent-kdcom-link.js';

/**
 * A delay as every vmkd message prints it: milliseconds under ten seconds (`250 ms`, `4000 ms`),
 * seconds above. One format, so a user comparing two commands' retry lines compares like with like.
 */
export function formatDelay(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `attempt 3`, or `attempt 3 of 10` when there is a limit. */
function attemptText(notice: Extract<LinkNotice, { kind: 'connect-failed' }>): string {
  if (notice.attempt === undefined) return '';
  return notice.maxAttempts === undefined ? `, attempt ${notice.attempt}` : `, attempt ${notice.attempt} of ${notice.maxAttempts}`;
}

/**
 * One line for a link notice. `peer` names who connects (`guest`, `debugger`, `peer`).
 * Failed attempts say how many so far and when the next one comes, or that none will.
 */
export function describeLinkNotice(notice: LinkNotice, peer: string): string {
  switch (notice.kind) {
    case 'refused':
      return `${peer} ${notice.peer} refused: ${notice.reason}`;
    case 'replaced':
      return `${peer} ${notice.by} takes over from ${notice.peer}`;
    case 'connect-failed':
      return notice.retryInMs < 0
        ? `${peer} not reachable (${notice.error.message}); giving up${attemptText(notice)}`
        : `${peer} not reachable (${notice.error.message}); retrying in ${formatDelay(notice.retryInMs)}${attemptText(notice)}`;
  }
}
