// One error type for the lab: which part failed, why, and what to do about it.
export class LabError extends Error {
  constructor(
    readonly part: string,
    readonly reason: string,
    readonly wayOut: string,
  ) {
    super(`lab part "${part}" failed: ${reason}. Way out: ${wayOut}`);
    this.name = 'LabError';
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
