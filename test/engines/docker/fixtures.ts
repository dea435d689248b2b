/** Shared test fixtures for the Docker explorer: tiny distinct images made without a network. */
import type Docker from 'dockerode';
import { Readable } from 'node:stream';

/** A ustar archive holding one small file: enough for `docker import` to make a distinct image. */
export function tinyTar(fileName: string, content: string): Buffer {
  const body = Buffer.from(content);
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  field(0, 100, fileName);
  field(100, 8, '0000644\0');
  field(108, 8, '0000000\0');
  field(116, 8, '0000000\0');
  field(124, 12, `${body.length.toString(8).padStart(11, '0')}\0`);
  field(136, 12, `${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`);
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding, Buffer.alloc(1024)]);
}

/** `docker import` of a one-file tar, through the given client (so over SSH too). Returns the image id. */
export async function importTinyImage(docker: Docker, repo: string, tag: string, content = `${repo}:${tag} ${Date.now()} ${Math.random()}`): Promise<string> {
  const stream = (await docker.importImage(Readable.from([tinyTar('marker.txt', content)]) as unknown as NodeJS.ReadableStream, { repo, tag } as object)) as NodeJS.ReadableStream;
  const text = await new Promise<string>((resolve, reject) => {
    let out = '';
    stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
    stream.on('end', () => resolve(out));
    stream.on('error', reject);
  });
  const error = /"error(?:Detail)?":\s*"?([^"}]+)/.exec(text);
  if (error) throw new Error(`docker import ${repo}:${tag}: ${error[1]}`);
  return (await docker.getImage(`${repo}:${tag}`).inspect()).Id;
}
