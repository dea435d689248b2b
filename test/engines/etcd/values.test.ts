/** Value kinds by content: a table of inputs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFromJson, detectKind, encodeForJson, type ValueKind } from '../../../src/engines/etcd/values';

const cases: [string, Buffer, ValueKind][] = [
  ['JSON object', Buffer.from('{"a": 1}'), 'json'],
  ['JSON array', Buffer.from(' [1, 2] '), 'json'],
  ['broken JSON', Buffer.from('{"a": '), 'text'],
  ['YAML mapping', Buffer.from('replicas: 3\nimage: app:2\n'), 'yaml'],
  ['YAML document', Buffer.from('---\na: 1\n'), 'yaml'],
  ['one YAML line', Buffer.from('key: value'), 'yaml'],
  ['a URL', Buffer.from('http://10.0.0.1:8080'), 'text'],
  ['plain text', Buffer.from('hello world'), 'text'],
  ['empty', Buffer.alloc(0), 'text'],
  ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x41]), 'binary'],
  ['NUL bytes', Buffer.from([0x41, 0x00, 0x42]), 'binary'],
  ['UTF-8 text', Buffer.from('grüße ✓'), 'text'],
];

describe('detectKind', () => {
  for (const [name, value, kind] of cases) it(`${name} → ${kind}`, () => assert.equal(detectKind(value), kind));
});

describe('JSON encoding of values', () => {
  for (const [name, value] of cases) {
    it(`${name} round-trips`, () => assert.ok(decodeFromJson(JSON.parse(JSON.stringify(encodeForJson(value)))).equals(value)));
  }
});
