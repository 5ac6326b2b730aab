/**
 * An upstream consumer that is a host running `certrotor agent`: the vendor's new client certificate
 * reaches it through its agent destination during the overlap, the agent installs it and reports,
 * and readiness is read from that report.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentDestination } from '../../../lambda/adapters/local/agent-destination';
import { AgentStateJsonFile, FileInstaller } from '../../../lambda/adapters/local/agent-host';
import { FileBundleStore } from '../../../lambda/adapters/local/file-bundle-store';
import { NodeTlsProber } from '../../../lambda/adapters/net/tls-prober';
import { factsFromPem } from '../../../lambda/adapters/local/pem-facts';
import { DAY_MS } from '../../../lambda/domain/certificate';
import { validateConfig } from '../../../lambda/config/configuration';
import type { OutgoingEvent } from '../../../lambda/domain/ports';
import { type AgentDeps } from '../../../lambda/use-cases/agent/model';
import { StateStoreDesiredSource } from '../../../lambda/use-cases/agent/desired-source';
import { runAgentCycle } from '../../../lambda/use-cases/agent/cycle';
import { recordAnnouncement } from '../../../lambda/use-cases/upstream/announcements';
import { upstreamSpecOf } from '../../../lambda/wiring/upstream-spec';
import { watchUpstreams } from '../../../lambda/use-cases/upstream/watch';
import { buildBundle } from '../../builders/bundles';
import { buildCa } from '../../builders/certificates';
import { buildConfig } from '../../builders/config';
import { MemoryStateStore } from '../../fakes/memory-state-store';
import { useTempDirs } from '../../support/temp-dir';

const temp = useTempDirs();
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);

describe('an upstream consumer managed by its host agent', () => {
  it('receives the new client certificate through its agent and is ready once the agent reports it installed', async () => {
    // Prepare: worker-1 runs an agent that installs the vendor client certificate
    const installDir = await temp.make('worker-1-client');
    const config = validateConfig(
      buildConfig((c) => {
        c.hosts.push({ name: 'worker-1', environment: 'prod', agent: { pollInterval: '1s', jitter: '0s' } });
        c.destinations.push({
          name: 'worker-agents',
          kind: 'agent',
          hosts: ['worker-1'],
          directory: installDir,
          healthCheck: { handshake: false },
        });
        c.certificates[1].destinations = ['worker-agents'];
        c.upstreams[0].endpoints = [{ host: '127.0.0.1', port: 1, environment: 'prod' }];
        c.upstreams[0].consumers = { hosts: ['worker-1'] };
      }),
      'certrotor.yaml',
    );
    const state = new MemoryStateStore();
    const bundles = new FileBundleStore({ directory: await temp.make('bundles') });
    const clock = () => NOW;
    const agent: AgentDeps = {
      host: 'worker-1',
      environment: 'prod',
      certificates: [
        {
          name: 'vendor-client',
          installer: new FileInstaller({ certificate: 'vendor-client', directory: installDir }),
        },
      ],
      desired: new StateStoreDesiredSource(state),
      bundles,
      state,
      local: new AgentStateJsonFile(join(await temp.make('agent'), 'worker-1.json')),
      clock,
    };
    // The agent polls while the destination waits for its report.
    const destination = new AgentDestination({
      name: 'worker-agents',
      hosts: ['worker-1'],
      state,
      bundles,
      clock,
      sleep: async () => void (await runAgentCycle(agent)),
      timeoutMs: 60_000,
      pollMs: 1,
    });
    const destinations = new Map([[destination.name, destination]]);
    const spec = await upstreamSpecOf(config, config.upstreams[0]!, destinations);
    const vendorCa = await buildCa({ commonName: 'Vendor client CA G2', now: NOW });
    const client = await buildBundle({
      name: 'vendor-client',
      version: 'g2',
      issuer: vendorCa,
      commonName: 'certrotor-client',
      dnsNames: [],
      extendedKeyUsage: ['clientAuth'],
      now: NOW,
      lifetimeDays: 365,
    });
    const ref = await bundles.put(client);
    await recordAnnouncement(
      state,
      {
        source: 'manual',
        sourceId: 'VEND-9',
        upstream: 'payments',
        title: 'Client CA G2',
        windowStart: new Date(NOW.getTime() - DAY_MS).toISOString(),
        cutover: new Date(NOW.getTime() + 30 * DAY_MS).toISOString(),
        needsReview: false,
        reviewReasons: [],
      },
      NOW,
      {
        newClientCertificate: {
          bundle: ref,
          fingerprintSha256: client.facts.fingerprintSha256,
          subject: client.facts.subject,
          notAfter: client.facts.notAfter,
        },
      },
    );
    const events: OutgoingEvent[] = [];

    // Act
    const report = await watchUpstreams(
      {
        state,
        bundles,
        destinations,
        prober: new NodeTlsProber({ clock, defaultTimeoutMs: 1000 }),
        clock,
        ownership: () => ({}),
        publisher: {
          name: 'memory',
          publish: async (e) => {
            events.push(...e);
            return { published: e.length, failed: [] };
          },
        },
      },
      { upstreams: [spec] },
    );

    // Assess
    expect(spec.consumers).toEqual([
      expect.objectContaining({
        name: 'worker-1',
        kind: 'host',
        destination: 'worker-agents',
        target: 'worker-1',
      }),
    ]);
    expect(Object.values(report.upstreams[0]!.delivered)).toEqual([['worker-1']]);
    const installed = await readFile(join(installDir, 'cert.pem'), 'utf8');
    expect(factsFromPem(installed).fingerprintSha256).toBe(client.facts.fingerprintSha256);
    const status = report.upstreams[0]!.announcements[0]!;
    expect(status.consumers).toEqual([
      expect.objectContaining({
        consumer: 'worker-1',
        ready: true,
        detail: expect.stringMatching(/holds the new client certificate/),
      }),
    ]);
    expect(events.map((e) => e.detailType)).toEqual(['Upstream Rotation Announced']);
    expect(report.failures.map((f) => f.what)).toEqual(['upstream payments endpoint 127.0.0.1:1']);
  });
});
