/**
 * Streams the build context as a tar, one file at a time. The headers are the ones the docker CLI
 * writes on Linux (owner 0:0, permission bits, directories with a trailing slash), so the builder's
 * checksums are the ones BuildContext predicts and Wharf's builds share the cache with `docker build`.
 */
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BuildContext, type ContextEntry } from './context';

const BLOCK = 512;

export interface ExtraFile {
  name: string;
  content: Buffer;
}

export function contextTarStream(context: BuildContext, extra: ExtraFile[] = []): Readable {
  return Readable.from(generate(context, extra), { objectMode: false });
}

async function* generate(context: BuildContext, extra: ExtraFile[]): AsyncGenerator<Buffer> {
  for (const entry of context.entries) {
    yield* header(entry);
    if (entry.type !== 'file') continue;
    let written = 0;
    for await (const chunk of createReadStream(path.join(context.root, entry.path))) {
      const buffer = chunk as Buffer;
      // A file that grew while we send it must not break the archive: send the size we announced.
      const room = entry.size - written;
      if (room <= 0) break;
      const part = buffer.length > room ? buffer.subarray(0, room) : buffer;
      written += part.length;
      yield part;
    }
    if (written < entry.size) yield Buffer.alloc(entry.size - written);
    yield* padding(entry.size);
  }
  for (const file of extra) {
    yield* header({ path: file.name, type: 'file', mode: 0o644, size: file.content.length, mtime: Math.floor(Date.now() / 1000) });
    yield file.content;
    yield* padding(file.content.length);
  }
  yield Buffer.alloc(BLOCK * 2);
}

function* padding(size: number): Generator<Buffer> {
  const rest = size % BLOCK;
  if (rest) yield Buffer.alloc(BLOCK - rest);
}

function* header(entry: ContextEntry): Generator<Buffer> {
  const name = BuildContext.tarName(entry);
  const link = entry.linkTarget ?? '';
  // Long names go in a PAX record, which Go's tar reader (the builder's) folds back into the name.
  if (Buffer.byteLength(name) > 100 || Buffer.byteLength(link) > 100) {
    const records = paxRecord('path', name) + (link ? paxRecord('linkpath', link) : '');
    const body = Buffer.from(records);
    yield ustar({ name: 'PaxHeader', mode: 0o644, size: body.length, mtime: entry.mtime, typeflag: 'x', link: '' });
    yield body;
    yield* padding(body.length);
  }
  yield ustar({
    name: name.slice(0, 100),
    mode: entry.mode,
    size: entry.type === 'file' ? entry.size : 0,
    mtime: entry.mtime,
    typeflag: entry.type === 'dir' ? '5' : entry.type === 'symlink' ? '2' : '0',
    link: link.slice(0, 100),
  });
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return `${length}${body}`;
}

function ustar(h: { name: string; mode: number; size: number; mtime: number; typeflag: string; link: string }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(h.name, 0, 100, 'utf8');
  octal(block, 100, 8, h.mode);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, h.size);
  octal(block, 136, 12, h.mtime);
  block.fill(' ', 148, 156);
  block.write(h.typeflag, 156, 1, 'latin1');
  block.write(h.link, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'latin1');
  octal(block, 329, 8, 0);
  octal(block, 337, 8, 0);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return block;
}

function octal(block: Buffer, offset: number, length: number, value: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'latin1');
}
