/**
 * A notification never delays a rotation: with Slack holding every request open, `certrotor rotate`
 * still issues, delivers, verifies and promotes; the messages go out, in order, once Slack answers.
 */
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { FileStateStore } from '../../lambda/adapters/local/file-state-store';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { readCertificateState } from '../../lambda/use-cases/certificate-state';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();

/** A webhook that holds every request until released, recording the message texts in arrival order. */
async function heldWebhook() {
  const held: ServerResponse[] = [];
  const texts: string[] = [];
  let released = false;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      texts.push((JSON.parse(body) as { text?: string }).text ?? '');
      if (released) response.end('ok');
      else held.push(response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/held`,
    texts,
    release: () => {
      released = true;
      for (const response of held.splice(0)) response.end('ok');
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

it('promotes the new certificate while Slack is still holding the first message', async () => {
  // Prepare
  const dir = await temp.make('slow-slack');
  writeFileSync(
    join(dir, 'certrotor.json'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      issuers: [{ name: 'local', kind: 'local-ca' }],
      destinations: [{ name: 'disk', kind: 'files', environment: 'prod', directory: 'tls' }],
      certificates: [
        {
          name: 'api',
          commonName: 'api.example.com',
          dnsNames: ['api.example.com'],
          issuer: 'local',
          destinations: ['disk'],
        },
      ],
      notifications: {
        channels: [{ name: 'alerts', kind: 'slack', webhook: { env: 'SLACK_WEBHOOK_URL' } }],
        defaultChannel: 'alerts',
      },
      local: { stateDirectory: 'state', events: { stdout: false } },
    }),
  );
  const slack = await heldWebhook();
  const ctx: CliContext = {
    out: () => undefined,
    err: () => undefined,
    env: { SLACK_WEBHOOK_URL: slack.url },
    cwd: dir,
    clock: () => new Date(),
    exitCode: 0,
  };
  const state = new FileStateStore({ directory: join(dir, 'state', 'state') });

  try {
    // Act: rotate; Slack answers nothing until the rotation has promoted its new version
    const running = runCli(['rotate', 'api', '--config', join(dir, 'certrotor.json')], ctx);
    let promoted: string | undefined;
    for (let i = 0; i < 400 && !promoted; i++) {
      promoted = (await readCertificateState(state, 'api', new Date()))?.value.current?.version;
      if (!promoted) await new Promise((r) => setTimeout(r, 50));
    }
    const heldWhenPromoted = slack.texts.length;
    slack.release();
    const code = await running;

    // Assess: promotion happened with the first message still unanswered; nothing was lost or reordered
    expect(promoted).toMatch(/^v/);
    expect(heldWhenPromoted).toBe(1);
    expect(code).toBe(0);
    expect(slack.texts.map((t) => t.replace(/:.*$/, ''))).toEqual([
      expect.stringMatching(/Rotation started/),
      expect.stringMatching(/Rotation succeeded/),
    ]);
  } finally {
    slack.release();
    await slack.close();
  }
});
