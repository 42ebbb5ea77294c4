import type { RouteSide } from './route-events.js';

/** Link happenings that can come in floods (random bytes full of 0x62, a RESET storm). */
export type NoticeKey = `${RouteSide}:${'breakin' | 'reset'}`;

interface Window {
  /** Clock time the window opened (its first notice was recorded in full). */
  readonly start: number;
  readonly last: number;
  /** Notices in this window after the first, not recorded one by one. */
  readonly quiet: number;
}

export type NoticeWindows = Readonly<Partial<Record<NoticeKey, Window>>>;

export const initialNotices: NoticeWindows = {};

/** What to do with one notice: record it in full, and/or summarise a window that has closed. */
export interface NoticeDecision {
  readonly windows: NoticeWindows;
  readonly record: boolean;
  /** A closed window's summary: `count` notices (the first included) over `ms`. */
  readonly summary?: { readonly key: NoticeKey; readonly count: number; readonly ms: number };
  /** When set, ask for a timer at this time so a quiet window's summary is not left pending. */
  readonly timerAt?: number;
}

/**
 * Rate limit for repeated notices (issue 16 item 4): the first of a kind in a window of
 * `windowMs` is recorded; the rest are counted and summarised once the window closes, as one
 * record ("412 break-ins in 1.2 s"), so garbage on a link cannot flood a log or a trace.
 * Pure: time comes in as `at`.
 */
export function noteNotice(windows: NoticeWindows, key: NoticeKey, at: number, windowMs: number): NoticeDecision {
  const open = windows[key];
  if (open !== undefined && at - open.start < windowMs) {
    const timerAt = open.quiet === 0 ? open.start + windowMs : undefined;
    return { windows: { ...windows, [key]: { ...open, last: at, quiet: open.quiet + 1 } }, record: false, ...(timerAt === undefined ? {} : { timerAt }) };
  }
  const summary = open !== undefined && open.quiet > 0 ? { key, count: open.quiet + 1, ms: open.last - open.start } : undefined;
  return { windows: { ...windows, [key]: { start: at, last: at, quiet: 0 } }, record: true, ...(summary === undefined ? {} : { summary }) };
}

/** The summaries of windows that have closed by `at` (on a timer). */
export function closeNoticeWindows(windows: NoticeWindows, at: number, windowMs: number): { windows: NoticeWindows; summaries: { key: NoticeKey; count: number; ms: number }[] } {
  const summaries: { key: NoticeKey; count: number; ms: number }[] = [];
  let next: NoticeWindows = windows;
  for (const key of Object.keys(windows) as NoticeKey[]) {
    const open = windows[key];
    if (open === undefined || at - open.start < windowMs) continue;
    if (open.quiet > 0) summaries.push({ key, count: open.quiet + 1, ms: open.last - open.start });
    const { [key]: _closed, ...rest } = next;
    next = rest;
  }
  return { windows: next, summaries };
}
