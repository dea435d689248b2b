/** Splits a stream of newline-delimited JSON (pull, push, build, events) into objects as they arrive. */
export function onJsonLines<T>(stream: NodeJS.ReadableStream, onLine: (value: T) => void, onBadLine?: (line: string) => void): void {
  let buffered = '';
  stream.on('data', (chunk: Buffer | string) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      let value: T;
      try {
        value = JSON.parse(line) as T;
      } catch {
        onBadLine?.(line);
        continue;
      }
      onLine(value);
    }
  });
}
