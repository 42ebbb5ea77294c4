/** The two ways a packet crosses a route; the strings appear verbatim in traces and statistics. */
export type Direction = 'guest→debugger' | 'debugger→guest';

export const GuestToDebugger: Direction = 'guest→debugger';
export const DebuggerToGuest: Direction = 'debugger→guest';
