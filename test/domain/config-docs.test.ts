import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REGENERATE_HINT,
  renderConfigSchemaFile,
  renderConfigurationMarkdown,
  writeGeneratedFiles,
} from '../../scripts/generate-docs';
import { writeConfigurationTypeFile } from '../../scripts/config-type';

const root = join(__dirname, '..', '..');

describe('the generated configuration reference', () => {
  const files = {
    'docs/configuration.md': renderConfigurationMarkdown(),
    'schemas/config.schema.json': renderConfigSchemaFile(),
  };

  if (process.env.UPDATE_DOCS === '1') {
    it('is rewritten when UPDATE_DOCS=1', () => {
      expect(writeGeneratedFiles(root, files)).toHaveLength(2);
      // The construct's CertRotorConfiguration type comes from the same schema (test/infra/config-type.test.ts).
      writeConfigurationTypeFile(root);
    });
  }

  it.each(Object.keys(files))('%s matches the configuration schema', (path) => {
    const actual = existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined;
    if (actual !== files[path as keyof typeof files]) {
      throw new Error(
        `${path} is out of date with lambda/config/configuration.ts; regenerate with: ${REGENERATE_HINT}`,
      );
    }
  });

  it('documents every top-level section', () => {
    const schema = JSON.parse(files['schemas/config.schema.json']) as { properties: Record<string, unknown> };
    for (const key of Object.keys(schema.properties)) {
      expect(files['docs/configuration.md']).toContain(`## \`${key}\``);
    }
  });
});
