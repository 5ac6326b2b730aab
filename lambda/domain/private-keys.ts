/**
 * Loading a private key from PEM (wrapped so it cannot leak) and checking it matches a certificate.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { InvalidInputError } from './errors';
import { SecretKey } from './secret';
import { type KeyFacts, keyFacts, shortReason } from './x509';

export interface PrivateKeySummary extends KeyFacts {
  /** The key block alone (text around it dropped), wrapped so it cannot leak. */
  readonly key: SecretKey;
}

const PRIVATE_KEY_BLOCK =
  /-----BEGIN ((?:RSA |EC |DSA |ENCRYPTED |OPENSSH )?PRIVATE KEY)-----[\s\S]*?-----END \1-----/;

/**
 * Finds and loads the private key in `input`. Encrypted keys are refused with a clear message:
 * certrotor installs keys unattended, so it needs them decrypted (and protects them itself).
 */
export function parsePrivateKey(input: string | Buffer, inputName: string): PrivateKeySummary {
  const text = typeof input === 'string' ? input : input.toString('latin1');
  if (text.trim() === '') throw new InvalidInputError(`${inputName}: is empty, expected a PEM private key`);
  const match = PRIVATE_KEY_BLOCK.exec(text);
  if (!match) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
      throw new InvalidInputError(`${inputName}: truncated PEM: private key block has no END line`);
    }
    throw new InvalidInputError(`${inputName}: no private key found (expected a PEM PRIVATE KEY block)`);
  }
  const block = match[0];
  if (match[1] === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(block)) {
    throw new InvalidInputError(
      `${inputName}: the private key is encrypted; provide it unencrypted (openssl pkey -in KEY -out KEY.plain)`,
    );
  }
  if (match[1] === 'OPENSSH PRIVATE KEY') {
    throw new InvalidInputError(`${inputName}: is an OpenSSH private key; a PEM (PKCS#8) TLS key is needed`);
  }
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: block, format: 'pem' });
  } catch (error) {
    // Node's message never contains the key; keep only OpenSSL's reason.
    throw new InvalidInputError(`${inputName}: the private key does not parse (${shortReason(error)})`);
  }
  return { key: new SecretKey(block.replace(/\r\n/g, '\n') + '\n'), ...keyFacts(keyObject) };
}

/** Whether `key` is the private half of the certificate's public key. */
export function keyMatchesCertificate(certificatePem: string, key: SecretKey): boolean {
  try {
    return new X509Certificate(certificatePem).checkPrivateKey(createPrivateKey(key.reveal()));
  } catch {
    return false;
  }
}
