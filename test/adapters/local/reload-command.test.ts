import { lastLine, runReloadCommand } from '../../../lambda/adapters/local/reload-command';
import { buildCertificate } from '../../builders/certificates';

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
      ['replaces a whole key block', () => `loading\n${keyPem}`, '[REDACTED PRIVATE KEY]'],
      [
        'drops everything after a key block cut short',
        () => `bad file: ${keyPem.slice(0, 90)}`,
        'bad file: [REDACTED PRIVATE KEY]',
      ],
      ['redacts a line that is part of a key in play', () => keyPem.split('\n')[1]!, '[REDACTED]'],
      ['truncates a very long line', () => 'x'.repeat(500), `${'x'.repeat(199)}…`],
      ['gives nothing for silence', () => '\n\n', undefined],
    ])('%s', (_case, text, expected) => {
      expect(lastLine(text(), [keyPem])).toBe(expected);
    });
  });
});
