import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { buildEvent, catalogue, EventSchemaError, looksLikeKeyMaterial } from '../../lambda/domain/events';
import { containsKeyMaterial, keyEncodings, redactKeyMaterial } from '../../lambda/domain/key-material';
import { registerKeyMaterial, scrubPrivateKeys } from '../../lambda/domain/secret';
import { buildCertificate } from '../builders/certificates';

const KEYS: [string, KeyObject][] = [
  ['P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
  ['P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
  ['Ed25519', generateKeyPairSync('ed25519').privateKey],
  ['RSA 2048', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
];

/** Every way a command or a careless message could spell a key. */
function spellings(key: KeyObject): Record<string, string> {
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const type = key.asymmetricKeyType;
  const traditional =
    type === 'rsa'
      ? key.export({ format: 'der', type: 'pkcs1' })
      : type === 'ec'
        ? key.export({ format: 'der', type: 'sec1' })
        : pkcs8;
  const base64 = pkcs8.toString('base64');
  return {
    'PKCS#8 PEM': key.export({ format: 'pem', type: 'pkcs8' }) as string,
    'one-line base64': base64,
    base64url: pkcs8.toString('base64url'),
    hex: pkcs8.toString('hex'),
    'colon-separated hex': pkcs8.toString('hex').match(/../g)!.join(':'),
    'SEC1 / PKCS#1 base64': traditional.toString('base64'),
    'SEC1 / PKCS#1 upper hex': traditional.toString('hex').toUpperCase(),
    'base64 wrapped at 64 columns': base64.match(/.{1,64}/g)!.join('\n'),
    'base64 glued to other letters': `secret${base64}end`,
  };
}

describe('key material detector', () => {
  describe.each(KEYS)('a %s key', (_type, key) => {
    it.each(Object.entries(spellings(key)))('is found written as %s, inside a sentence', (_how, text) => {
      expect(containsKeyMaterial(`reload said: ${text} (exit 1)`)).toBe(true);
    });

    it('is redacted in every spelling, leaving the words around it', () => {
      for (const text of Object.values(spellings(key)))
        expect(redactKeyMaterial(`before ${text} after`)).toMatch(/^before .*\[REDACTED KEY\].* after$/s);
    });
  });

  it('finds an OpenSSH private key by its magic, as a PEM block or as its one-line base64 body', () => {
    const body = Buffer.concat([
      Buffer.from('openssh-key-v1\0', 'latin1'),
      Buffer.from('00000004none00000004none00000000000000010000003300000b7373682d6564323535313900', 'latin1'),
    ]).toString('base64');
    const pem = `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.match(/.{1,70}/g)!.join('\n')}\n-----END OPENSSH PRIVATE KEY-----`;

    expect([containsKeyMaterial(`key: ${body}`), containsKeyMaterial(pem)]).toEqual([true, true]);
  });

  it.each([
    [
      'a certificate in base64',
      async () => (await buildCertificate()).certificatePem.replace(/-----[^-]+-----|\s/g, ''),
    ],
    ['a long run of one letter', async () => 'A'.repeat(400)],
    [
      'random base64',
      async () => Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256)).toString('base64'),
    ],
    ['a SHA-256 fingerprint', async () => 'AB:'.repeat(31) + 'CD'],
    ['a sentence', async () => 'api.example.com expires in 13 days'],
  ])('does not take %s for a key', async (_name, text) => {
    expect(containsKeyMaterial(await text())).toBe(false);
  });

  it('derives the encodings of a known key so its pieces can be removed from any text', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const pem = key.export({ format: 'pem', type: 'pkcs8' }) as string;
    const hex = key.export({ format: 'der', type: 'pkcs8' }).toString('hex');
    registerKeyMaterial(pem);

    const scrubbed = scrubPrivateKeys(`part one ${hex.slice(10, 60)} and ${pem.split('\n')[2]}`);

    expect(keyEncodings(pem)).toContain(hex);
    expect(scrubbed).toBe('part one [REDACTED KEY] and [REDACTED KEY]');
  });
});

describe('event guard', () => {
  it.each(KEYS)('rejects a whole %s key in one-line base64, whatever its length', (_type, key) => {
    const base64 = key.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    const detail = structuredClone(catalogue['Rotation Failed'].example) as Record<string, unknown>;
    (detail.failedHosts as { reason: string }[])[0]!.reason = `reload printed ${base64}`;

    const build = () => buildEvent('Rotation Failed', detail as never, new Date('2026-02-26T09:00:00Z'));

    expect(looksLikeKeyMaterial(base64)).toBe(true);
    expect(build).toThrow(EventSchemaError);
  });
});
