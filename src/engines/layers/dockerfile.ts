/**
 * A Dockerfile parser that keeps what the editor needs and the builder ignores: each instruction's
 * line range. It follows the classic builder's reading rules (parser directives on top, the escape
 * character, continuation lines joined without a separator, comment and empty lines skipped inside a
 * continuation) so the joined text is the text the builder puts in `created_by`.
 */

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ... */
  keyword: string;
  /** The arguments as the builder sees them: continuations joined, flags removed, trimmed. */
  args: string;
  /** `--from=x`, `--chown=u:g`, `--platform=...` given before the arguments. */
  flags: Record<string, string>;
  /** The exec form (`["a", "b"]`) when the arguments are a JSON string array. */
  json?: string[];
  /** 0-based first and last line in the file. */
  line: number;
  endLine: number;
  /** Index of the stage (FROM) this instruction belongs to. */
  stage: number;
  /** 1-based position among all instructions: the builder's "Step N/M". */
  step: number;
  /** Bodies of `<<EOF` heredocs, kept verbatim (the classic builder does not run them). */
  heredocs?: string[];
}

export interface Stage {
  index: number;
  /** `FROM image AS name` */
  name?: string;
  /** The image or earlier stage named by FROM, before ARG substitution. */
  from: string;
  line: number;
}

export interface DockerfileProblem {
  line: number;
  endLine: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface ParsedDockerfile {
  instructions: Instruction[];
  stages: Stage[];
  /** ARGs declared before the first FROM, with their defaults. */
  globalArgs: Record<string, string | undefined>;
  directives: { escape: string; syntax?: string };
  problems: DockerfileProblem[];
}

export const KEYWORDS = new Set([
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT',
  'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
]);

/** Instructions that change files (and so make a layer with bytes in it). */
export const FILE_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);

const MIN_ARGS: Record<string, number> = { FROM: 1, COPY: 2, ADD: 2, ENV: 1, LABEL: 1, WORKDIR: 1, USER: 1, EXPOSE: 1, ARG: 1, VOLUME: 1, STOPSIGNAL: 1, ONBUILD: 1, SHELL: 1, MAINTAINER: 1, RUN: 1 };

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.split(/\r?\n/);
  const problems: DockerfileProblem[] = [];
  const directives = { escape: '\\', syntax: undefined as string | undefined };
  let index = 0;

  // Parser directives: only at the very top, before any comment that is not a directive or any blank line.
  for (; index < lines.length; index++) {
    const match = /^\s*#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.*?)\s*$/.exec(lines[index]);
    if (!match) break;
    const name = match[1].toLowerCase();
    if (name === 'escape') {
      if (match[2] !== '\\' && match[2] !== '`') problems.push(problem(index, index, `invalid escape directive "${match[2]}": use \\ or \``));
      else directives.escape = match[2];
    } else if (name === 'syntax') directives.syntax = match[2];
    else break; // an unknown directive is a comment, and ends the directive block
  }

  const escape = directives.escape;
  const continuation = new RegExp(`${escapeRegExp(escape)}[ \\t]*$`);
  const instructions: Instruction[] = [];
  const stages: Stage[] = [];
  const globalArgs: Record<string, string | undefined> = {};

  while (index < lines.length) {
    const first = lines[index];
    if (/^\s*(#|$)/.test(first)) {
      index++;
      continue;
    }
    const start = index;
    let joined = '';
    let line = first;
    // Join continuation lines: the escape character and the line break go, nothing is inserted.
    for (;;) {
      if (continuation.test(line)) {
        joined += line.replace(continuation, '');
        index++;
        while (index < lines.length && /^\s*(#|$)/.test(lines[index])) index++;
        if (index >= lines.length) break;
        line = lines[index];
        continue;
      }
      joined += line;
      break;
    }
    let end = Math.min(index, lines.length - 1);
    index++;

    const match = /^\s*(\S+)\s*([\s\S]*)$/.exec(joined);
    if (!match) continue;
    const keyword = match[1].toUpperCase();
    let rest = match[2].trim();

    if (!KEYWORDS.has(keyword)) {
      problems.push(problem(start, end, `unknown instruction: ${match[1]}`));
      continue;
    }

    // Heredocs (`RUN <<EOF`): read their bodies so the next instruction starts after them.
    const heredocs: string[] = [];
    for (const heredoc of rest.matchAll(/<<-?\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?/g)) {
      if (!['RUN', 'COPY', 'ADD'].includes(keyword)) break;
      const terminator = heredoc[1];
      const body: string[] = [];
      let closed = false;
      while (index < lines.length) {
        const bodyLine = lines[index++];
        if (bodyLine.replace(/^\t+/, '') === terminator) {
          closed = true;
          break;
        }
        body.push(bodyLine);
      }
      end = index - 1;
      if (!closed) problems.push(problem(start, end, `heredoc "${terminator}" is not closed`));
      heredocs.push(body.join('\n'));
    }

    const flags: Record<string, string> = {};
    if (['FROM', 'COPY', 'ADD', 'RUN', 'HEALTHCHECK'].includes(keyword)) {
      for (;;) {
        const flag = /^--([a-zA-Z-]+)(?:=(\S*))?\s*/.exec(rest);
        if (!flag) break;
        flags[flag[1]] = flag[2] ?? 'true';
        rest = rest.slice(flag[0].length);
      }
    }
    const json = parseJsonArray(rest);
    const words = json ?? splitWords(rest);
    const instruction: Instruction = {
      keyword,
      args: rest,
      flags,
      json,
      line: start,
      endLine: end,
      stage: Math.max(0, stages.length - 1),
      step: instructions.length + 1,
      ...(heredocs.length ? { heredocs } : {}),
    };

    const min = MIN_ARGS[keyword] ?? 0;
    if (words.length < min && !(heredocs.length && words.length >= 1)) {
      problems.push(problem(start, end, min === 1 ? `${keyword} requires at least one argument` : `${keyword} requires at least ${min} arguments`));
      continue;
    }
    if (keyword === 'FROM') {
      const as = words.length >= 3 && words[1].toLowerCase() === 'as' ? words[2] : undefined;
      if (words.length === 2 || (words.length >= 3 && words[1].toLowerCase() !== 'as') || words.length > 3) {
        problems.push(problem(start, end, 'FROM takes an image and an optional "AS name"'));
        continue;
      }
      stages.push({ index: stages.length, name: as?.toLowerCase(), from: words[0], line: start });
      instruction.stage = stages.length - 1;
    } else if (stages.length === 0) {
      if (keyword === 'ARG') {
        for (const word of words) {
          const eq = word.indexOf('=');
          globalArgs[eq < 0 ? word : word.slice(0, eq)] = eq < 0 ? undefined : unquote(word.slice(eq + 1));
        }
      } else {
        problems.push(problem(start, end, `${keyword} before FROM: a Dockerfile must start with FROM (only ARG may come first)`));
        continue;
      }
    }
    if (keyword === 'ENV' || keyword === 'LABEL') {
      if (!/=/.test(rest) && words.length < 2) problems.push(problem(start, end, `${keyword} needs a value: ${keyword} name=value`));
    }
    instructions.push(instruction);
  }

  if (stages.length === 0 && problems.length === 0) {
    problems.push(problem(0, 0, instructions.length ? 'no FROM instruction' : 'the Dockerfile is empty: it needs a FROM instruction'));
  }
  // Steps count every instruction the builder runs, ARGs before FROM included.
  instructions.forEach((instruction, position) => (instruction.step = position + 1));
  return { instructions, stages, globalArgs, directives, problems };
}

function problem(line: number, endLine: number, message: string): DockerfileProblem {
  return { line, endLine, message, severity: 'error' };
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `["a", "b"]` → ['a', 'b']; anything else (including invalid JSON) is the shell form. */
export function parseJsonArray(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined;
  } catch {
    return undefined;
  }
}

/** Shell-like word splitting with quotes and backslash escapes (enough for FROM, COPY, ENV). */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quote) {
      if (char === quote) quote = undefined;
      else if (char === '\\' && quote === '"' && i + 1 < text.length) current += text[++i];
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (char === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (inWord) words.push(current);
  return words;
}

export function unquote(value: string): string {
  return splitWords(value).join(' ');
}

/** $VAR, ${VAR}, ${VAR:-default}, ${VAR:+alt}: the substitutions FROM, COPY and WORKDIR accept. */
export function substitute(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_all, braced, op, word, bare) => {
    const value = vars[(braced ?? bare) as string];
    if (op === '-') return value ? value : (word as string);
    if (op === '+') return value ? (word as string) : '';
    return value ?? '';
  });
}
