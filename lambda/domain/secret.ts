/**
 * Private key material is wrapped so that it cannot leak by accident: it renders as `[REDACTED]`
 * in JSON, string conversion, template literals and `util.inspect`. Only `reveal()` returns it, and
 * only destinations and issuers call that.
 */
const material = new WeakMap<SecretKey, string>();

export class SecretKey {
  constructor(pem: string) {
    material.set(this, pem);
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

/** Replaces any private key block in `text` so that no error message or log line can carry one. */
export function scrubPrivateKeys(text: string): string {
  return text.replace(PRIVATE_KEY_PATTERN, '[REDACTED PRIVATE KEY]');
}

export function containsPrivateKey(text: string): boolean {
  return /-----BEGIN (?:RSA |EC |ENCRYPTED |DSA |OPENSSH )?PRIVATE KEY-----/.test(text);
}
