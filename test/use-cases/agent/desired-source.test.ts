import { type DesiredVersion } from '../../../lambda/domain/host-agent';
import { type DesiredVersionSource } from '../../../lambda/domain/ports';
import { FirstDesiredSource } from '../../../lambda/use-cases/agent/desired-source';

const NOW = new Date('2026-11-20T10:00:00Z');

function version(v: string): DesiredVersion {
  return {
    certificate: 'api',
    version: v,
    fingerprintSha256: `FP:${v}`,
    bundle: { name: 'api', version: v, location: `secret#${v}` },
  };
}

function source(
  name: string,
  answer: DesiredVersion | undefined | Error,
): DesiredVersionSource & { asked: number } {
  const s = {
    name,
    asked: 0,
    async desired() {
      s.asked++;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return s;
}

describe('first desired source (workflow record, then the promoted version)', () => {
  it('takes the workflow record when there is one, without asking the promoted version', async () => {
    // Prepare
    const promoted = source('secrets-manager', version('v1'));
    const desired = new FirstDesiredSource([source('state-store', version('v2')), promoted]);

    // Act
    const found = await desired.desired('web-1', 'api', NOW);

    // Assess
    expect(found?.version).toBe('v2');
    expect(promoted.asked).toBe(0);
    expect(desired.name).toBe('state-store, then secrets-manager');
  });

  it('falls back to the promoted version when no workflow record exists', async () => {
    // Prepare
    const desired = new FirstDesiredSource([
      source('state-store', undefined),
      source('secrets-manager', version('v1')),
    ]);

    // Act
    const found = await desired.desired('web-1', 'api', NOW);

    // Assess
    expect(found?.version).toBe('v1');
  });

  it('treats an unreadable workflow record as an outage instead of falling back to an older answer', async () => {
    // Prepare
    const promoted = source('secrets-manager', version('v1'));
    const desired = new FirstDesiredSource([source('state-store', new Error('table unreachable')), promoted]);

    // Act
    const reading = desired.desired('web-1', 'api', NOW);

    // Assess
    await expect(reading).rejects.toThrow('table unreachable');
    expect(promoted.asked).toBe(0);
  });
});
