/**
 * The stream a sync sends: a tar (raw chunks, reference lists, `end`) inside gzip. While the data
 * is small (a version update) it is ONE gzip stream, so the missing chunks are compressed together:
 * strings shared across chunks compress and a tar header costs ~40 bytes instead of 512. Past
 * `switchToMembers()` (a large first sync), each chunk goes out as its stored gzip member, so no
 * byte is compressed twice; gzip -dc reads concatenated members as one stream. Back-pressure runs
 * from the SSH channel to the caller.
 */
import zlib from 'node:zlib';
import type { ClientChannel } from 'ssh2';
import { TAR_END, tarHeader, tarPadding } from './tarWriter';

export class WireWriter {
  private packer: zlib.Gzip | undefined;
  private packerEnded: Promise<void> | undefined;
  private members = false;
  /** The zero padding the previous member still owes the tar. */
  private pad: Buffer = Buffer.alloc(0);
  private gone = false;
  private readonly channelClosed: Promise<void>;
  /** Compressed bytes handed to the channel. */
  bytes = 0;
  /** Tar members written. */
  count = 0;

  constructor(
    private readonly channel: ClientChannel,
    private readonly level: number,
  ) {
    this.channelClosed = new Promise<void>((resolve) =>
      channel.once('close', () => {
        this.gone = true; // the host ended the session: drop the rest
        this.packer?.resume();
        resolve();
      }),
    );
  }

  /** True once the host closed the channel (nothing more can arrive). */
  get closed(): boolean {
    return this.gone;
  }

  /** From now on every member is its own gzip member (see the file comment). */
  async switchToMembers(): Promise<void> {
    if (this.members) return;
    this.members = true;
    await this.endPacker();
  }

  /** A member from raw bytes. */
  async member(name: string, data: Buffer | string): Promise<void> {
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    const head = Buffer.concat([this.pad, tarHeader(name, body.length)]);
    this.pad = tarPadding(body.length);
    this.count++;
    if (this.members) return this.send(zlib.gzipSync(Buffer.concat([head, body]), { level: this.level }));
    const packer = this.packer ?? this.startPacker();
    for (const part of [head, body]) {
      if (!packer.write(part) && !this.gone) await Promise.race([new Promise((resolve) => packer.once('drain', resolve)), this.channelClosed]);
    }
  }

  /** A member whose content is already a gzip member (`size` raw bytes); one-stream mode takes it raw. */
  async packed(name: string, gz: Buffer, size: number): Promise<void> {
    if (!this.members) return this.member(name, zlib.gunzipSync(gz));
    const head = Buffer.concat([this.pad, tarHeader(name, size)]);
    this.pad = tarPadding(size);
    this.count++;
    await this.send(zlib.gzipSync(head, { level: 1 }));
    await this.send(gz);
  }

  /** Ends the tar and the gzip stream; everything written so far reaches the host whole. */
  async finish(): Promise<void> {
    const tail = Buffer.concat([this.pad, TAR_END]);
    if (this.members) return this.send(zlib.gzipSync(tail, { level: this.level }));
    const packer = this.packer ?? this.startPacker();
    packer.end(tail);
    await this.packerEnded;
  }

  private startPacker(): zlib.Gzip {
    const packer = zlib.createGzip({ level: this.level, memLevel: 9 });
    packer.on('data', (data: Buffer) => {
      if (this.gone) return;
      this.bytes += data.length;
      if (!this.channel.write(data)) packer.pause();
    });
    this.channel.on('drain', () => packer.resume());
    this.packerEnded = new Promise((resolve, reject) => {
      packer.once('end', resolve);
      packer.once('error', reject);
    });
    this.packer = packer;
    return packer;
  }

  private async endPacker(): Promise<void> {
    if (!this.packer) return;
    this.packer.end();
    await this.packerEnded;
    this.packer = undefined;
  }

  private async send(data: Buffer): Promise<void> {
    if (this.gone) return;
    this.bytes += data.length;
    if (!this.channel.write(data) && !this.gone) await Promise.race([new Promise((resolve) => this.channel.once('drain', resolve)), this.channelClosed]);
  }
}
