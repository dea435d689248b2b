/** Hosts to offer for a sync: `wharf.ssh.hosts` plus the plain aliases of the ssh config file. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export async function candidateHosts(configured: string[], configFile?: string): Promise<string[]> {
  const file = configFile || path.join(os.homedir(), '.ssh', 'config');
  const aliases: string[] = [];
  try {
    for (const line of (await fs.readFile(file, 'utf8')).split(/\r?\n/)) {
      const match = /^\s*Host\s+(.+)$/i.exec(line);
      if (!match) continue;
      // Patterns (*, ?, !) are not hosts one can pick.
      for (const name of match[1].trim().split(/\s+/)) if (!/[*?!]/.test(name)) aliases.push(name);
    }
  } catch {
    // no config file: only the configured hosts
  }
  return [...new Set([...configured, ...aliases])];
}
