/**
 * Each promotion is recorded as one JSON line in `.wharf/promotions.jsonl` in the workspace.
 * Why a file and not an annotation or a label: an annotation or label would change the manifest,
 * hence the digest, which promotion must keep identical; Distribution 2.8 has no referrers API to
 * attach a separate record to; and a line-per-promotion file is readable by people (and grep),
 * reviewable in the repository's history, and shown by the Registries tree.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface PromotionRecord {
  time: string;
  who: string;
  source: string;
  sourceDigest?: string;
  target: string;
  targetDigest?: string;
  via: 'registry' | 'engine';
  stage?: string;
  gate?: string;
  copied?: number;
  skipped?: number;
  mounted?: number;
  bytes?: number;
}

export const PROMOTIONS_FILE = path.join('.wharf', 'promotions.jsonl');

export function currentUser(env: NodeJS.ProcessEnv = process.env): string {
  try {
    return env.WHARF_USER || env.USER || os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

export async function appendPromotion(workspaceDir: string, record: PromotionRecord): Promise<string> {
  const file = path.join(workspaceDir, PROMOTIONS_FILE);
  await mkdir(path.dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(record)}\n`);
  return file;
}

/** The newest records first (bounded: the file is read whole, but only `limit` are kept). */
export async function readPromotions(workspaceDir: string, limit = 200): Promise<PromotionRecord[]> {
  let text: string;
  try {
    text = await readFile(path.join(workspaceDir, PROMOTIONS_FILE), 'utf8');
  } catch {
    return [];
  }
  const records: PromotionRecord[] = [];
  for (const line of text.split('\n').reverse()) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as PromotionRecord);
    } catch {
      /* a torn line from a crash: skip it */
    }
    if (records.length >= limit) break;
  }
  return records;
}
