import { InvalidArgumentError } from 'commander';
import { parseByteSize, parseIntegerOption } from '@vmkd/connect';

/** commander option parsers that report bad values as usage errors (exit 2). */
export function integerArg(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    try {
      return parseIntegerOption(name, value, min, max);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}

export function sizeArg(name: string): (value: string) => number {
  return (value) => {
    try {
      return parseByteSize(name, value);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };
}
