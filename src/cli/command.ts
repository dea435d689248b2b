import type { ParsedArgs } from './args';

/** One CLI verb: a thin mapping from flags to an engine call. Returns the exit code. */
export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Flags that take a value (the rest are switches). */
  valueFlags: string[];
  run(args: ParsedArgs): Promise<number>;
}
