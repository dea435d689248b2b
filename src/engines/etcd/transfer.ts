/**
 * Moving configuration between environments: a prefix exported as JSON (streamed page by page),
 * and imported under the same or another prefix in transactions of at most 100 puts.
 */
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { throwIfCancelled, WharfError } from '../core/errors';
import type { WorkOptions } from '../core/progress';
import type { EtcdCluster } from './cluster';
import { checkSize } from './edit';
import { iterateValues } from './keyspace';
import { decodeFromJson, encodeForJson } from './values';

export const EXPORT_FORMAT = 'wharf-etcd-export';

export interface ExportItem {
  key: string;
  value?: string;
  valueBase64?: string;
}

export interface ExportDocument {
  format: typeof EXPORT_FORMAT;
  version: 1;
  cluster: string;
  prefix: string;
  revision?: string;
  keys: ExportItem[];
}

/** Writes the export to `out` (a file or stdout) without holding the prefix in memory. */
export async function exportPrefix(cluster: EtcdCluster, prefix: string, out: Writable, work: WorkOptions = {}): Promise<number> {
  const write = (text: string) => new Promise<void>((resolve, reject) => (out.write(text, (error) => (error ? reject(error) : resolve()))));
  await write(`{"format":"${EXPORT_FORMAT}","version":1,"cluster":${JSON.stringify(cluster.name)},"prefix":${JSON.stringify(prefix)},"keys":[\n`);
  let count = 0;
  for await (const entry of iterateValues(cluster, prefix, 200)) {
    throwIfCancelled(work.signal, `export of ${prefix}`);
    await write(`${count ? ',\n' : ''}${JSON.stringify({ key: entry.key, ...encodeForJson(entry.value) })}`);
    count++;
    if (count % 500 === 0) work.progress?.report({ message: `${count} keys exported` });
  }
  await write('\n]}\n');
  return count;
}

export async function readExportFile(file: string): Promise<ExportDocument> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file)) chunks.push(chunk as Buffer);
  return parseExport(Buffer.concat(chunks).toString('utf8'), file);
}

export function parseExport(text: string, source = 'the import'): ExportDocument {
  let document: ExportDocument;
  try {
    document = JSON.parse(text) as ExportDocument;
  } catch (error) {
    throw new WharfError({ code: 'bad-input', object: source, cause: `not JSON (${(error as Error).message})` });
  }
  if (document?.format !== EXPORT_FORMAT || !Array.isArray(document.keys)) {
    throw new WharfError({ code: 'bad-input', object: source, cause: `not a ${EXPORT_FORMAT} document`, remedy: 'Export the prefix with Wharf first' });
  }
  return document;
}

export interface ImportOptions extends WorkOptions {
  /** Replace the exported prefix with this one (move between environments). */
  targetPrefix?: string;
}

export async function importDocument(cluster: EtcdCluster, document: ExportDocument, options: ImportOptions = {}): Promise<number> {
  const items = document.keys.map((item) => {
    if (typeof item.key !== 'string') throw new WharfError({ code: 'bad-input', object: 'import', cause: 'an entry has no key' });
    const key = options.targetPrefix !== undefined && item.key.startsWith(document.prefix) ? options.targetPrefix + item.key.slice(document.prefix.length) : item.key;
    const value = decodeFromJson(item);
    checkSize(cluster, key, value);
    return { key, value };
  });
  let done = 0;
  for (let start = 0; start < items.length; ) {
    throwIfCancelled(options.signal, 'import');
    // Up to 100 puts (etcd allows 128 per txn) and under the request limit per transaction.
    const batch: typeof items = [];
    let bytes = 0;
    while (start < items.length && batch.length < 100) {
      const size = items[start].key.length + items[start].value.length + 64;
      if (batch.length && bytes + size > cluster.maxRequestBytes) break;
      batch.push(items[start++]);
      bytes += size;
    }
    await cluster.write('import', (callOptions) =>
      cluster.client.kv.txn({ success: batch.map((item) => ({ request_put: { key: Buffer.from(item.key), value: item.value } })) }, callOptions),
    );
    done += batch.length;
    options.progress?.report({ message: `${done} of ${items.length} keys imported`, completed: done, total: items.length });
  }
  return done;
}
