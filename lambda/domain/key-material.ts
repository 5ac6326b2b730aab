/**
 * Finds private keys in text, whatever their length or encoding: PEM blocks (also cut off before
 * their end marker), and base64, base64url or hex runs (one line or wrapped, hex also with `:`
 * separators) that decode to a private key. "Decodes to a key" is decided by parsing, not by shape:
 * every DER SEQUENCE inside the decoded bytes is given to node:crypto's `createPrivateKey` as
 * PKCS#8, SEC1 (EC) and PKCS#1 (RSA), and an OpenSSH key is recognised by its `openssh-key-v1`
 * magic. So a whole P-256 key (184 base64 characters), an Ed25519 key (64) or an RSA key is found,
 * and a certificate, a fingerprint or a random token is not.
 *
 * Pure: parsing only, no I/O. Also derives every encoding of a known key (`keyEncodings`), for the
 * registry of keys certrotor holds (domain/secret.ts).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';

export interface TextRange {
  readonly start: number;
  readonly end: number;
}

/** A PEM private key block; without its end marker it runs to the end of the text. */
const PEM_KEY =
  /-----BEGIN ((?:RSA |EC |ENCRYPTED |DSA |OPENSSH )?PRIVATE KEY)-----(?:[\s\S]*?-----END \1-----|[\s\S]*$)/g;
/**
 * Base64 / base64url runs, possibly wrapped over lines. The smallest key in DER (Ed25519/X25519
 * PKCS#8) is 48 bytes, 64 characters.
 */
const BASE64_RUN = /[A-Za-z0-9+/_-]+={0,2}(?:[ \t]*\r?\n[ \t]*[A-Za-z0-9+/_-]+={0,2})*/g;
const MIN_BASE64 = 60;
/** Hex runs: plain (possibly wrapped over lines), or bytes separated by `:` (openssl's dumps). */
const HEX_RUNS = [
  /[0-9a-fA-F]{2,}(?:[ \t]*\r?\n[ \t]*[0-9a-fA-F]{2,})*/g,
  /[0-9a-fA-F]{2}(?::\s*[0-9a-fA-F]{2})+/g,
];
const MIN_HEX_BYTES = 46;
const MIN_DER = 46;
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** True when `text` holds a private key in any form this module recognises. */
export function containsKeyMaterial(text: string): boolean {
  return findKeyMaterial(text).length > 0;
}

/** Where private keys sit in `text`, sorted and merged. */
export function findKeyMaterial(text: string): TextRange[] {
  const ranges: TextRange[] = [];
  for (const match of text.matchAll(PEM_KEY)) ranges.push(rangeOf(match));
  for (const match of text.matchAll(BASE64_RUN)) {
    const compact = match[0].replace(/\s+/g, '');
    if (compact.length >= MIN_BASE64 && base64HoldsKey(compact)) ranges.push(rangeOf(match));
  }
  for (const pattern of HEX_RUNS)
    for (const match of text.matchAll(pattern)) {
      const compact = match[0].replace(/[:\s]/g, '');
      if (compact.length >= MIN_HEX_BYTES * 2 && hexHoldsKey(compact)) ranges.push(rangeOf(match));
    }
  return merge(ranges);
}

/** `text` with every private key replaced by `replacement`. */
export function redactKeyMaterial(text: string, replacement = '[REDACTED KEY]'): string {
  const ranges = findKeyMaterial(text);
  if (ranges.length === 0) return text;
  let out = '';
  let at = 0;
  for (const r of ranges) {
    out += text.slice(at, r.start) + replacement;
    at = r.end;
  }
  return out + text.slice(at);
}

/** True when `bytes` hold a private key (DER in any of the formats, or an OpenSSH key) anywhere. */
export function bytesHoldKey(bytes: Buffer): boolean {
  if (bytes.includes(OPENSSH_MAGIC)) return true;
  for (let i = bytes.indexOf(0x30); i >= 0 && bytes.length - i >= MIN_DER; i = bytes.indexOf(0x30, i + 1)) {
    const length = derLength(bytes, i);
    if (length === undefined || length < MIN_DER || i + length > bytes.length) continue;
    if (parsesAsKey(bytes.subarray(i, i + length))) return true;
  }
  return false;
}

/**
 * Every text form of a private key given as PEM (or DER): its PEM bodies, and base64, base64url
 * and hex (both cases) of its PKCS#8 DER and of its traditional DER (PKCS#1 for RSA, SEC1 for EC).
 * Empty when it is not a readable unencrypted key.
 */
export function keyEncodings(key: string | Buffer): string[] {
  let object: KeyObject;
  try {
    object = createPrivateKey(key);
  } catch {
    return [];
  }
  const ders: Buffer[] = [object.export({ format: 'der', type: 'pkcs8' })];
  const type = object.asymmetricKeyType;
  if (type === 'rsa') ders.push(object.export({ format: 'der', type: 'pkcs1' }));
  if (type === 'ec') ders.push(object.export({ format: 'der', type: 'sec1' }));
  const out = new Set<string>();
  if (typeof key === 'string') {
    const body = key.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    if (body.length > 0) out.add(body);
  }
  for (const der of ders) {
    out.add(der.toString('base64'));
    out.add(der.toString('base64url'));
    out.add(der.toString('hex'));
    out.add(der.toString('hex').toUpperCase());
  }
  return [...out];
}

function base64HoldsKey(compact: string): boolean {
  const standard = compact.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  // A key may start at any character of the run: try the four alignments.
  for (let offset = 0; offset < 4; offset++) {
    const chars = standard.slice(offset);
    if (chars.length < MIN_BASE64 - 4) break;
    if (bytesHoldKey(Buffer.from(chars, 'base64'))) return true;
  }
  return false;
}

function hexHoldsKey(compact: string): boolean {
  for (let offset = 0; offset < 2; offset++) {
    const chars = compact.slice(offset);
    if (bytesHoldKey(Buffer.from(chars.slice(0, chars.length - (chars.length % 2)), 'hex'))) return true;
  }
  return false;
}

/** Total length (header included) of the DER element at `at`, or undefined when malformed. */
function derLength(bytes: Buffer, at: number): number | undefined {
  const first = bytes[at + 1];
  if (first === undefined) return undefined;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  if (count === 0 || count > 3 || at + 2 + count > bytes.length) return undefined;
  let length = 0;
  for (let k = 0; k < count; k++) length = length * 256 + (bytes[at + 2 + k] as number);
  return 2 + count + length;
}

function parsesAsKey(der: Buffer): boolean {
  for (const type of ['pkcs8', 'sec1', 'pkcs1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return true;
    } catch {
      // not this format
    }
  }
  return false;
}

function rangeOf(match: RegExpMatchArray): TextRange {
  const start = match.index ?? 0;
  return { start, end: start + match[0].length };
}

function merge(ranges: TextRange[]): TextRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: TextRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end)
      out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}
