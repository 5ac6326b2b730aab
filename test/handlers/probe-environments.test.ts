import { servedEndpoints } from '../../lambda/handlers/support/probe-environments';
import { validateConfig } from '../../lambda/config/configuration';
import { exampleConfiguration } from '../infra/support/stack';

describe('the environments a probe function serves', () => {
  const config = validateConfig(exampleConfiguration(), 'example');

  it('keeps only the endpoints of the environments named in CERTROTOR_PROBE_ENVIRONMENTS', () => {
    expect(servedEndpoints(config, JSON.stringify(['staging'])).endpoints.map((e) => e.name)).toEqual([
      'api-staging',
    ]);
    expect(servedEndpoints(config, '[]').endpoints).toEqual([]);
  });

  it('probes every endpoint when the variable is not set', () => {
    expect(servedEndpoints(config, undefined).endpoints).toHaveLength(config.endpoints.length);
  });
});
