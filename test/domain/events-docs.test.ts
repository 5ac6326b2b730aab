import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DETAIL_TYPES, slugOf } from '../../lambda/domain/events';
import {
  REGENERATE_HINT,
  renderEventSchemaFiles,
  renderEventsMarkdown,
  writeGeneratedFiles,
} from '../../scripts/generate-docs';

const root = join(__dirname, '..', '..');
const update = process.env.UPDATE_DOCS === '1';

function expectInSync(path: string, expected: string): void {
  const actual = existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : undefined;
  if (actual !== expected) {
    throw new Error(`${path} is out of date with the event catalogue; regenerate with: ${REGENERATE_HINT}`);
  }
}

describe('the generated event reference', () => {
  const files: Record<string, string> = {
    'docs/events.md': renderEventsMarkdown(),
    ...renderEventSchemaFiles(),
  };

  if (update) {
    it('is rewritten when UPDATE_DOCS=1', () => {
      for (const stale of readdirSync(join(root, 'schemas/events'), { withFileTypes: true })) {
        if (!(`schemas/events/${stale.name}` in files)) rmSync(join(root, 'schemas/events', stale.name));
      }
      expect(writeGeneratedFiles(root, files)).toHaveLength(Object.keys(files).length);
    });
  }

  it.each(Object.keys(files))('%s matches the catalogue', (path) => {
    expectInSync(path, files[path] as string);
  });

  it('has one JSON Schema per detail type and no stale ones', () => {
    const present = readdirSync(join(root, 'schemas/events')).sort();
    expect(present).toEqual(DETAIL_TYPES.map((t) => `${slugOf(t)}.json`).sort());
  });

  it('documents every detail type with a section and an example', () => {
    const markdown = files['docs/events.md'] as string;
    for (const type of DETAIL_TYPES) {
      expect(markdown).toContain(`## ${type}\n`);
      expect(markdown).toContain(`"detail-type": "${type}"`);
    }
  });
});
