/**
 * Plans: how a host rebuilds an image from its segments, one line per `tar -xOf`:
 * `SEGMENT MEMBERS`, members as numbers and ranges in increasing order (`ab12.. 0-127`,
 * `cd34.. 3 5-9`). The host stores a recipe as its plan; the sender reads the plans of the
 * recipes it shares with the host to learn where each chunk is, and writes the new plan as the
 * chunks go by. Consecutive chunks from one segment share a line, so a version that reuses most
 * of the last one costs a line per changed region.
 */
import { HEX64 } from './pool';
import { SegmentBuilder, segName, type Location } from './segment';

/** A line's members beyond which a new line starts (bounds the host's argument list). */
const LINE_MEMBERS = 256;
/** Entries pending before the plan goes out, so the host keeps loading during long reference runs. */
export const PLAN_FLUSH_ENTRIES = 2048;

interface Line {
  seg: string | SegmentBuilder;
  members: number[];
}

/** Collects the new recipe's plan in order and hands out the lines whose segments are named. */
export class PlanWriter {
  private lines: Line[] = [];
  private pendingEntries = 0;
  /** Distinct segment names this plan uses (what a check of the host must cover). */
  readonly segments = new Set<string>();

  push(location: Location): void {
    const last = this.lines[this.lines.length - 1];
    if (last && last.seg === location.seg && last.members.length < LINE_MEMBERS && location.member > last.members[last.members.length - 1]) last.members.push(location.member);
    else this.lines.push({ seg: location.seg, members: [location.member] });
    this.pendingEntries++;
  }

  get pending(): number {
    return this.pendingEntries;
  }

  /** The leading lines whose segments are closed, as text (undefined when none). */
  take(): string | undefined {
    let count = 0;
    while (count < this.lines.length && segName(this.lines[count]) !== undefined) count++;
    if (count === 0) return undefined;
    const text = this.lines.splice(0, count).map((line) => formatLine(segName(line) as string, line.members, this.segments)).join('');
    this.pendingEntries = this.lines.reduce((sum, line) => sum + line.members.length, 0);
    return text;
  }
}

function formatLine(seg: string, members: number[], used: Set<string>): string {
  used.add(seg);
  const parts: string[] = [];
  for (let i = 0; i < members.length; ) {
    let j = i;
    while (j + 1 < members.length && members[j + 1] === members[j] + 1) j++;
    parts.push(j > i ? `${members[i]}-${members[j]}` : `${members[i]}`);
    i = j + 1;
  }
  return `${seg} ${parts.join(' ')}\n`;
}

/** Each entry's location, from a plan's text; undefined when the text is not a well-formed plan. */
export function parsePlan(text: string): Location[] | undefined {
  const out: Location[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [seg, ...items] = line.split(' ');
    if (!HEX64.test(seg) || items.length === 0) return undefined;
    for (const item of items) {
      const range = /^(\d+)(?:-(\d+))?$/.exec(item);
      if (!range) return undefined;
      const from = Number(range[1]);
      const to = range[2] === undefined ? from : Number(range[2]);
      if (to < from || to - from > 100_000) return undefined;
      for (let member = from; member <= to; member++) out.push({ seg, member });
    }
  }
  return out;
}

/** A recipe the host holds: its chunk list (from our pool) and its plan (from the host). */
export interface HostRecipe {
  fingerprint: string;
  chunks: string[];
  plan: string;
}

/** Chunks an interrupted sync left on the host, by segment. */
export interface OrphanSegment {
  seg: string;
  hashes: string[];
}

/**
 * Where each chunk the host holds is: from the plans of shared recipes (likeliest first; the first
 * one listed wins) and from orphan segments, minus the segments known to be damaged.
 */
export class HostIndex {
  private readonly where = new Map<string, Location>();
  /** Recipes whose plan did not match their chunk list (not used). */
  readonly rejected: string[] = [];

  constructor(recipes: HostRecipe[], orphans: OrphanSegment[], exclude: ReadonlySet<string> = new Set()) {
    for (const recipe of recipes) {
      const locations = parsePlan(recipe.plan);
      if (!locations || locations.length !== recipe.chunks.length) {
        this.rejected.push(recipe.fingerprint);
        continue;
      }
      recipe.chunks.forEach((hash, index) => {
        const location = locations[index];
        if (!this.where.has(hash) && !exclude.has(location.seg as string)) this.where.set(hash, location);
      });
    }
    for (const orphan of orphans) {
      if (exclude.has(orphan.seg)) continue;
      orphan.hashes.forEach((hash, member) => {
        if (!this.where.has(hash)) this.where.set(hash, { seg: orphan.seg, member });
      });
    }
  }

  get(hash: string): Location | undefined {
    return this.where.get(hash);
  }

  /** Records a chunk just put into a segment, so a repeat later in the image refers to it. */
  set(hash: string, location: Location): void {
    this.where.set(hash, location);
  }
}
