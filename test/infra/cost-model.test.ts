/**
 * The cost table in docs/deploy.md is computed from the synthesized template and the reference
 * fleet's usage model (scripts/cost-model.ts); it cannot drift.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REFERENCE_FLEET,
  REGENERATE_COST_HINT,
  costLines,
  totalOf,
  referenceTemplate,
  renderCostSection,
  runsPerMonth,
  expectedDeployDoc,
  writeCostSection,
} from '../../scripts/cost-model';

const root = join(__dirname, '..', '..');

describe('the cost model', () => {
  const lines = costLines(referenceTemplate(root), REFERENCE_FLEET);
  const section = renderCostSection(lines);

  if (process.env.UPDATE_DOCS === '1') {
    it('rewrites the cost table in docs/deploy.md when UPDATE_DOCS=1', () => {
      writeCostSection(root, section);
    });
  }

  it('matches the cost table in docs/deploy.md', () => {
    const document = readFileSync(join(root, 'docs', 'deploy.md'), 'utf8');
    if (expectedDeployDoc(root, section) !== document)
      throw new Error(
        `docs/deploy.md: the cost table is out of date; regenerate with: ${REGENERATE_COST_HINT}`,
      );
  });

  it('keeps the monthly bill of the reference fleet at or under $5', () => {
    expect(Math.round(totalOf(lines) * 100) / 100).toBeLessThanOrEqual(5);
  });

  it('counts runs from the schedule expressions: hourly, daily, and weekdays only', () => {
    expect(runsPerMonth('rate(1 hour)')).toBe(730);
    expect(runsPerMonth('rate(1 day)')).toBe(30);
    expect(runsPerMonth('cron(0 8 ? * MON-FRI *)', 'Europe/Paris')).toBeGreaterThanOrEqual(21);
    expect(runsPerMonth('cron(0 8 ? * MON-FRI *)', 'Europe/Paris')).toBeLessThanOrEqual(23);
  });
});
