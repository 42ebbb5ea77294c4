import type { ExtraCellResult } from '../result-types.js';

/** What an extra cell is given. */
export interface ExtraCellContext {
  readonly quick: boolean;
  readonly progress: (fraction: number) => void;
}

/**
 * A cell another package adds (the gdb endpoint, the memory fast path …): it lives in its own
 * file under `cells/`, measures with real peers, verifies what it reads, and reports named figures.
 * Failed runs are reported in the result, not thrown.
 */
export interface ExtraCell {
  /** Selectable with `--only ID`; also the row's name in the report. */
  readonly id: string;
  /** Rough seconds one run takes (progress bar). */
  readonly weight: (quick: boolean) => number;
  run(context: ExtraCellContext): Promise<ExtraCellResult>;
}

/** Every extra cell, in report order. Add yours here (one import and one entry). */
export const EXTRA_CELLS: readonly ExtraCell[] = [];
