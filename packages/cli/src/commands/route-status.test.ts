import { describe, expect, it } from 'vitest';
import { styleFor } from '../output/style.js';
import { describeRouteEvent } from './route-status.js';

const plain = styleFor({ isTTY: false, write: () => true }, {});

describe('route status lines', () => {
  it('says the debugger was told only when one is attached', () => {
    const gone = { kind: 'target-gone', failedRequest: false } as const;
    expect(describeRouteEvent(gone as never, plain, { debuggerAttached: true })).toMatch(/the debugger was told/);
    const alone = describeRouteEvent(gone as never, plain, { debuggerAttached: false });
    expect(alone).toMatch(/target gone/);
    expect(alone).not.toMatch(/debugger was told/);
  });
});
