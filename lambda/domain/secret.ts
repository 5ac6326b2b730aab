/**
 * Private key material is wrapped so that it cannot leak by accident: it renders as `[REDACTED]`
 * in JSON, string conversion, template literals and `util.inspect`. Only `reveal()` returns it, and
 * only destinations and issuers call that.
 *
 * Every key wrapped is also registered as known key material (`registerKeyMaterial`), so text that
 * leaves the process through `scrubPrivateKeys` loses it in any encoding, even in pieces.
 */
import { findKeyMaterial, keyEncodings } from './key-material';

const material = new WeakMap<SecretKey, string>();

export class SecretKey {
  constructor(pem: string) {
    material.set(this, pem);
    registerKeyMaterial(pem);
  }

  reveal(): string {
    const pem = material.get(this);
    if (pem === undefined) throw new Error('secret key material is unavailable');
    return pem;
  }

  toJSON(): string {
    return '[REDACTED]';
  }

  toString(): string {
    return '[REDACTED]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'SecretKey [REDACTED]';
  }
}

/** A PEM private key block, whatever its algorithm or encryption. Used to scrub text before it leaves the process. */
export const PRIVATE_KEY_PATTERN =
  /-----BEGIN ((?:RSA |EC |ENCRYPTED |DSA |OPENSSH )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/g;

/** What replaces a key: a marker the event guard accepts (it refuses the words "PRIVATE KEY"). */
export const REDACTED_KEY = '[REDACTED KEY]';
const REDACTED = REDACTED_KEY;

/**
 * Replaces private keys in `text` so that no error message, log line, event or command output can
 * carry one: PEM key blocks (a block cut off before its end marker loses everything after its
 * start), base64/base64url/hex runs that decode to a private key, and the bytes of every key this
 * process holds (registered), whole or in pieces of 16 characters or more.
 */
export function scrubPrivateKeys(text: string): string {
  let clean = text.replace(PRIVATE_KEY_PATTERN, REDACTED);
  const open = clean.search(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  if (open >= 0) clean = clean.slice(0, open) + REDACTED;
  // The end of a block whose start was cut off (the tail of a long output): everything before it goes.
  const end = /-----END [A-Z ]*PRIVATE KEY-----/g;
  let last: RegExpExecArray | null = null;
  for (let m = end.exec(clean); m; m = end.exec(clean)) last = m;
  if (last) clean = REDACTED + clean.slice(last.index + last[0].length);
  for (const { start, end } of findKeyMaterial(clean).reverse())
    clean = clean.slice(0, start) + REDACTED + clean.slice(end);
  return redactKnownKeys(clean);
}

/** Text forms of the keys this process holds, newest last; bounded so a long-lived process stays small. */
const known = new Map<string, readonly string[]>();
const MAX_KNOWN_KEYS = 1000;
const MIN_FRAGMENT = 16;

/**
 * Registers a private key (PEM) as held by this process: from now on `scrubPrivateKeys` removes it
 * in every encoding (PEM body, base64, base64url, hex of its DER forms) and any run of 16 or more
 * of its characters. Adapters call it for every key they read or write; `SecretKey` for every key it
 * wraps. Text that is not a readable key is registered by its base64 body alone.
 */
export function registerKeyMaterial(pem: string): void {
  if (pem.length < MIN_FRAGMENT || known.has(pem)) return;
  let forms = keyEncodings(pem);
  if (forms.length === 0) {
    const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    forms = body.length >= MIN_FRAGMENT ? [body] : [];
  }
  known.set(pem, forms);
  if (known.size > MAX_KNOWN_KEYS) known.delete(known.keys().next().value as string);
}

/** Removes every registered key's text forms, whole and in fragments, from `text`. */
export function redactKnownKeys(text: string): string {
  if (known.size === 0) return text;
  const forms = [...known.values()].flat();
  return text.replace(/[A-Za-z0-9+/_-]{16,}={0,2}/g, (token) => {
    const bare = token.replace(/=+$/, '');
    const lower = /^[0-9a-f]+$/i.test(bare) ? bare.toLowerCase() : bare;
    return forms.some((f) => f.includes(bare) || f.includes(lower) || bare.includes(f)) ? REDACTED : token;
  });
}

export function containsPrivateKey(text: string): boolean {
  return /-----BEGIN (?:RSA |EC |ENCRYPTED |DSA |OPENSSH )?PRIVATE KEY-----/.test(text);
}
