import { lastLine, runReloadCommand } from '../../../lambda/adapters/local/reload-command';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildCertificate } from '../../builders/certificates';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();

/** Encodings a command may print a key in: one-line base64 and base64url of its DER, hex, upper hex. */
function encodings(key: KeyObject): Record<string, string> {
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const traditional =
    key.asymmetricKeyType === 'rsa'
      ? key.export({ format: 'der', type: 'pkcs1' })
      : key.asymmetricKeyType === 'ec'
        ? key.export({ format: 'der', type: 'sec1' })
        : pkcs8;
  return {
    base64: pkcs8.toString('base64'),
    base64url: pkcs8.toString('base64url'),
    hex: pkcs8.toString('hex'),
    'traditional base64': traditional.toString('base64'),
    'traditional upper hex': traditional.toString('hex').toUpperCase(),
  };
}

describe('reload command', () => {
  it('passes argv arguments literally, without a shell', async () => {
    const result = await runReloadCommand([
      process.execPath,
      '-e',
      'process.exit(process.argv[1] === "a; exit 0" ? 7 : 0)',
      'a; exit 0',
    ]);

    expect(result).toEqual({
      ok: false,
      exitCode: 7,
      timedOut: false,
      error: expect.stringMatching(/ exited 7$/),
    });
  });

  it('succeeds on exit 0 and passes the given environment', async () => {
    const result = await runReloadCommand('test "$CERTROTOR_HOST" = web-1', {
      env: { CERTROTOR_HOST: 'web-1' },
    });

    expect(result).toEqual({ ok: true, exitCode: 0, timedOut: false });
  });

  it('refuses an empty argv', async () => {
    expect(await runReloadCommand([])).toEqual({
      ok: false,
      timedOut: false,
      error: 'reload command is empty',
    });
  });

  it('reports a signal that ended the command', async () => {
    const result = await runReloadCommand('kill -TERM $$');

    expect(result).toMatchObject({
      ok: false,
      signal: 'SIGTERM',
      error: 'reload `kill -TERM $$` was killed by SIGTERM',
    });
  });

  describe('last stderr line', () => {
    let keyPem: string;

    beforeAll(async () => {
      keyPem = (await buildCertificate()).privateKey.reveal();
    });

    it.each([
      ['takes the last non-empty line', () => 'first\nsecond\n\n', 'second'],
      ['replaces a whole key block', () => `loading\n${keyPem}`, '[REDACTED KEY]'],
      [
        'drops everything after a key block cut short',
        () => `bad file: ${keyPem.slice(0, 90)}`,
        'bad file: [REDACTED KEY]',
      ],
      ['redacts a line that is part of a key in play', () => keyPem.split('\n')[1]!, '[REDACTED KEY]'],
      [
        'drops everything before the end of a key block whose start was cut off',
        () => `${keyPem.slice(120).trimEnd()} done`,
        '[REDACTED KEY] done',
      ],
      ['truncates a very long line', () => 'x'.repeat(500), `${'x'.repeat(199)}…`],
      ['gives nothing for silence', () => '\n\n', undefined],
    ])('%s', (_case, text, expected) => {
      expect(lastLine(text(), [keyPem])).toBe(expected);
    });
  });

  describe('output holding a key nobody registered', () => {
    const keys: [string, KeyObject][] = [
      ['P-256', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey],
      ['P-384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
      ['Ed25519', generateKeyPairSync('ed25519').privateKey],
      ['RSA 2048', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey],
    ];

    it.each(keys)('never reports a %s key printed in any encoding as the last line', async (_type, key) => {
      for (const [encoding, text] of Object.entries(encodings(key))) {
        const file = join(await temp.make('reload-output'), 'out.txt');
        await writeFile(file, `loaded key=${text}\n`);

        const result = await runReloadCommand(`cat '${file}' >&2; exit 1`);

        expect([encoding, result.error]).toEqual([
          encoding,
          expect.stringMatching(/exited 1: loaded key=\[REDACTED KEY\]$/),
        ]);
      }
    });
  });
});
