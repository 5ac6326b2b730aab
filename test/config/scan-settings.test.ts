/**
 * The scan's settings for the sibling sweep and the thresholds: lifetime scaling and name identity by
 * default, both configurable.
 */
import { validateConfig } from '../../lambda/config/configuration';
import { scanSettings } from '../../lambda/config/views/scan';
import { buildConfig } from '../builders/config';

describe('scan settings', () => {
  it('scales thresholds by lifetime and groups by name unless the configuration says otherwise', () => {
    // Prepare
    const defaults = validateConfig(buildConfig(), 'test');
    const chosen = validateConfig(
      buildConfig((c) => {
        c.notifications.thresholdScaling = 'absolute';
        c.notifications.identity = 'fingerprint';
      }),
      'test',
    );

    // Act + Assess
    expect(scanSettings(defaults)).toMatchObject({ thresholdScaling: 'lifetime', identity: 'name' });
    expect(scanSettings(chosen)).toMatchObject({ thresholdScaling: 'absolute', identity: 'fingerprint' });
  });

  it('refuses an unknown scaling with its path', () => {
    // Act + Assess
    expect(() =>
      validateConfig(
        buildConfig((c) => {
          c.notifications.thresholdScaling = 'relative';
        }),
        'test',
      ),
    ).toThrow(/notifications\.thresholdScaling/);
  });
});
