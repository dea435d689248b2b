/**
 * What a value is, judged by its bytes: JSON, YAML, plain text or binary. Binary means the bytes
 * would not survive a round trip through a text editor (invalid UTF-8 or control characters), so
 * the editor shows such values read-only and never writes decoded text back over them.
 */
export type ValueKind = 'json' | 'yaml' | 'text' | 'binary';

const CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f]/;

export function isBinary(value: Buffer): boolean {
  if (value.length === 0) return false;
  const text = value.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(value)) return true; // invalid UTF-8 (replacement characters)
  return CONTROL.test(text);
}

export function detectKind(value: Buffer): ValueKind {
  if (isBinary(value)) return 'binary';
  const text = value.toString('utf8').trim();
  if (!text) return 'text';
  if (/^[[{]/.test(text)) {
    try {
      JSON.parse(text);
      return 'json';
    } catch {
      /* not JSON after all */
    }
  }
  if (looksLikeYaml(text)) return 'yaml';
  return 'text';
}

/** A cheap check: a document marker, or most lines being `key: value` / `- item` with consistent indentation. */
function looksLikeYaml(text: string): boolean {
  if (text.startsWith('---')) return true;
  const lines = text.split('\n').filter((line) => line.trim() && !line.trim().startsWith('#'));
  if (lines.length === 1) return /^[\w.-]+:\s+\S/.test(lines[0]);
  const yamlish = lines.filter((line) => /^\s*[\w."'-]+:(\s|$)/.test(line) || /^\s*- /.test(line)).length;
  return yamlish / lines.length >= 0.8;
}

/** The VS Code language id for a kind. */
export function languageOf(kind: ValueKind): string {
  return kind === 'json' ? 'json' : kind === 'yaml' ? 'yaml' : 'plaintext';
}

/** A short, safe one-line preview (binary as hex). */
export function preview(value: Buffer, max = 80): string {
  if (isBinary(value)) return `<binary ${value.length} bytes> ${value.subarray(0, 16).toString('hex')}${value.length > 16 ? '…' : ''}`;
  const text = value.toString('utf8').replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** For JSON export: text when it round-trips, base64 otherwise. */
export function encodeForJson(value: Buffer): { value: string } | { valueBase64: string } {
  return isBinary(value) ? { valueBase64: value.toString('base64') } : { value: value.toString('utf8') };
}

export function decodeFromJson(item: { value?: string; valueBase64?: string }): Buffer {
  if (item.valueBase64 !== undefined) return Buffer.from(item.valueBase64, 'base64');
  return Buffer.from(item.value ?? '', 'utf8');
}
