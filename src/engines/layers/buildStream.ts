/**
 * Reads the classic builder's JSON progress: every line is scanned for `error`/`errorDetail`, and
 * the "Step N/M : ...", "---> Using cache", "---> Running in", "---> <id>" lines become step events.
 */

export type BuildEvent =
  | { type: 'step'; step: number; total: number; text: string }
  | { type: 'cache' }
  | { type: 'running'; container: string }
  | { type: 'image'; id: string }
  | { type: 'output'; text: string }
  | { type: 'built'; id: string }
  | { type: 'error'; message: string };

/** Splits the byte stream into JSON messages and messages into lines; tolerant of split chunks. */
export class BuildStreamParser {
  private pending = '';
  private text = '';

  constructor(private readonly emit: (event: BuildEvent) => void) {}

  push(chunk: Buffer | string): void {
    this.pending += chunk.toString();
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, newline).trim();
      this.pending = this.pending.slice(newline + 1);
      if (line) this.message(line);
    }
  }

  end(): void {
    if (this.pending.trim()) this.message(this.pending.trim());
    this.pending = '';
    if (this.text) this.line(this.text);
    this.text = '';
  }

  private message(json: string): void {
    let value: { stream?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string }; status?: string };
    try {
      value = JSON.parse(json) as typeof value;
    } catch {
      this.emit({ type: 'output', text: json });
      return;
    }
    if (value.error || value.errorDetail) {
      this.emit({ type: 'error', message: value.errorDetail?.message ?? value.error ?? 'build failed' });
      return;
    }
    if (value.aux?.ID) this.emit({ type: 'built', id: value.aux.ID });
    const text = value.stream ?? (value.status ? `${value.status}\n` : '');
    this.text += text;
    let newline: number;
    while ((newline = this.text.indexOf('\n')) >= 0) {
      const line = this.text.slice(0, newline);
      this.text = this.text.slice(newline + 1);
      this.line(line);
    }
  }

  private line(line: string): void {
    const step = /^Step (\d+)\/(\d+) : (.*)$/.exec(line);
    if (step) return this.emit({ type: 'step', step: Number(step[1]), total: Number(step[2]), text: step[3] });
    if (/^ ---> Using cache\s*$/.test(line)) return this.emit({ type: 'cache' });
    const running = /^ ---> Running in ([0-9a-f]+)\s*$/.exec(line);
    if (running) return this.emit({ type: 'running', container: running[1] });
    const image = /^ ---> ([0-9a-f]{12,64})\s*$/.exec(line);
    if (image) return this.emit({ type: 'image', id: image[1] });
    const built = /^Successfully built ([0-9a-f]+)\s*$/.exec(line);
    if (built) return this.emit({ type: 'built', id: built[1] });
    this.emit({ type: 'output', text: line });
  }
}
