import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonical, canonicalCmd } from '../../../src/engines/layers/cacheGraph';
import { globMatch } from '../../../src/engines/layers/context';
import { parseDockerfile } from '../../../src/engines/layers/dockerfile';
import { computeWaste } from '../../../src/engines/layers/wasted';

describe('Dockerfile parser', () => {
  it('keeps line ranges, joins continuations without a separator and skips comments inside them', () => {
    const parsed = parseDockerfile(['# syntax=docker/dockerfile:1', '# escape=\\', '', 'FROM base AS build', '# a comment', 'RUN echo a && \\', '    # inside', '    echo b', 'COPY ["a b", "/dst/"]', 'CMD ["sh"]'].join('\n'));
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.directives.syntax, 'docker/dockerfile:1');
    assert.deepEqual(parsed.instructions.map((i) => [i.keyword, i.line, i.endLine, i.step]), [['FROM', 3, 3, 1], ['RUN', 5, 7, 2], ['COPY', 8, 8, 3], ['CMD', 9, 9, 4]]);
    assert.equal(parsed.instructions[1].args, 'echo a &&     echo b');
    assert.deepEqual(parsed.instructions[2].json, ['a b', '/dst/']);
    assert.equal(parsed.stages[0].name, 'build');
  });

  it('honours the escape directive', () => {
    const parsed = parseDockerfile('# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo y\n');
    assert.deepEqual(parsed.problems, []);
    assert.equal(parsed.instructions[1].args, 'dir c:\\   && echo y');
    assert.equal(parsed.instructions[1].endLine, 3);
  });

  it('reads flags and heredocs without losing its place', () => {
    const parsed = parseDockerfile('FROM x\nCOPY --from=build --chown=1:1 /a /b\nRUN <<EOF\necho hi\nEOF\nRUN true\n');
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.instructions[1].flags, { from: 'build', chown: '1:1' });
    assert.deepEqual(parsed.instructions[2].heredocs, ['echo hi']);
    assert.deepEqual([parsed.instructions[2].line, parsed.instructions[2].endLine, parsed.instructions[3].line], [2, 4, 5]);
  });

  const bad: [string, string, number, RegExp][] = [
    ['unknown instruction', 'FROM x\nRUNN echo\n', 1, /unknown instruction: RUNN/],
    ['COPY with one argument', 'FROM x\nRUN a\n\nCOPY onlyone\n', 3, /COPY requires at least 2 arguments/],
    ['instruction before FROM', 'ARG A=1\nRUN echo\nFROM x\n', 1, /before FROM/],
    ['FROM without image', 'FROM\n', 0, /FROM requires at least one argument/],
    ['FROM with junk', 'FROM a b c d\n', 0, /FROM takes an image/],
    ['empty file', '# only a comment\n', 0, /needs a FROM/],
    ['bad escape', '# escape=x\nFROM a\n', 0, /invalid escape/],
    ['unclosed heredoc', 'FROM a\nRUN <<EOF\necho\n', 1, /heredoc "EOF" is not closed/],
    ['ENV without value', 'FROM a\nENV A\n', 1, /ENV needs a value/],
  ];
  for (const [name, text, line, message] of bad) {
    it(`reports ${name} at line ${line + 1}`, () => {
      const problems = parseDockerfile(text).problems;
      assert.ok(problems.length >= 1, 'a problem is reported');
      assert.equal(problems[0].line, line);
      assert.match(problems[0].message, message);
    });
  }
});

describe('cache keys', () => {
  it('reduces builder commands and instructions to the same text', () => {
    assert.equal(canonicalCmd(['/bin/sh', '-c', '#(nop) ', 'CMD ["sh"]']), canonical('CMD sh'));
    assert.equal(canonicalCmd(['|1', 'Q=1', 'sh', '-c', 'echo exec']), canonical('RUN sh -c echo exec'));
    assert.equal(canonicalCmd(['/bin/sh', '-c', 'echo hi > /f &&     echo there']), canonical('RUN echo hi > /f && echo there'));
    assert.equal(canonicalCmd(['/bin/sh', '-c', '#(nop) COPY file:abc in ./ ']), 'COPY file:abc in ./');
  });

  it('matches COPY wildcards like Go filepath.Match', () => {
    assert.ok(globMatch('*.txt', 'a.txt'));
    assert.ok(!globMatch('*.txt', 'd/a.txt'));
    assert.ok(globMatch('src/[a-c]?.js', 'src/b1.js'));
    assert.ok(!globMatch('src/[!a-c]?.js', 'src/b1.js'));
  });
});

describe('wasted bytes', () => {
  const layer = (files: [string, number][], deleted: string[] = [], opaque: string[] = []) => ({ files: new Map(files), deleted, opaque, bytes: files.reduce((s, [, n]) => s + n, 0) });
  it('counts files deleted, overwritten or hidden by an opaque directory in a later layer', () => {
    const report = computeWaste([layer([['bin/sh', 100]]), layer([['big', 1000], ['d/x', 10], ['d/y', 20], ['keep', 5]]), layer([], ['big']), layer([['keep', 7]], [], ['d'])], 1);
    assert.equal(report.wastedBytes, 1000 + 30 + 5);
    assert.equal(report.userBytes, 1035 + 7);
    assert.equal(report.baseHiddenBytes, 0);
    assert.equal(report.top[0].path, 'big');
    assert.equal(report.top[0].how, 'deleted');
  });
});
