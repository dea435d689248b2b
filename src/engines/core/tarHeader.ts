/**
 * Reading the fields of a tar header block, shared by every tar reader in the engines (the layer
 * analysis, the send-time archive filter, the dedup chunker): one place for the ustar prefix, GNU
 * base-256 sizes and the checksum.
 */
export const TAR_BLOCK = 512;

/** A NUL-terminated field as text. */
export function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString('utf8');
}

/** The entry's name, with the ustar prefix when the block has one. */
export function headerName(block: Buffer): string {
  const name = cString(block.subarray(0, 100));
  const prefix = block.subarray(257, 262).toString('latin1') === 'ustar' ? cString(block.subarray(345, 500)) : '';
  return prefix ? `${prefix}/${name}` : name;
}

/** Octal, or base-256 when the first byte has its high bit set (GNU/Go for sizes ≥ 8 GiB). */
export function headerSize(block: Buffer): number {
  const field = block.subarray(124, 136);
  if (field[0] & 0x80) {
    let value = field[0] & 0x7f;
    for (let index = 1; index < field.length; index++) value = value * 256 + field[index];
    return value;
  }
  const text = field.toString('latin1').replace(/[\0 ].*$/s, '').trim();
  return text ? parseInt(text, 8) : 0;
}

/** True when the block's checksum holds (the field counted as spaces): false for zero blocks and data. */
export function checksumHolds(block: Buffer): boolean {
  let sum = 0;
  for (let index = 0; index < TAR_BLOCK; index++) sum += index >= 148 && index < 156 ? 0x20 : block[index];
  return parseInt(block.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim(), 8) === sum;
}
