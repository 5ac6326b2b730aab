import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DETAIL_TYPES, catalogue, looksLikeKeyMaterial } from '../../lambda/domain/events';
import { scrubPrivateKeys } from '../../lambda/domain/secret';
import { writeGeneratedFiles } from '../../scripts/generate-docs';
import {
  SLACK_DOCS_HINT,
  SLACK_DOCS_PATH,
  anchorOf,
  mrkdwnToPlain,
  renderPlainText,
  renderSlackMessagesMarkdown,
  slackDocSections,
} from '../../scripts/slack-docs';
import { messageText, slackLimitViolations } from '../support/slack-limits';

const root = join(__dirname, '..', '..');

describe('the generated Slack message reference', () => {
  const markdown = renderSlackMessagesMarkdown();
  const examples = slackDocSections().flatMap((section) => section.examples);

  if (process.env.UPDATE_DOCS === '1') {
    it('is rewritten when UPDATE_DOCS=1', () => {
      expect(writeGeneratedFiles(root, { [SLACK_DOCS_PATH]: markdown })).toEqual([SLACK_DOCS_PATH]);
    });
  }

  it(`${SLACK_DOCS_PATH} matches what the formatter produces`, () => {
    const path = join(root, SLACK_DOCS_PATH);
    const actual = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (actual !== markdown) {
      throw new Error(
        `${SLACK_DOCS_PATH} is out of date with the Slack messages; regenerate with: ${SLACK_DOCS_HINT}`,
      );
    }
  });

  it('renders the same document every time, whatever the clock says', () => {
    // Act
    const again = renderSlackMessagesMarkdown();

    // Assess
    expect(again).toBe(markdown);
  });

  it.each([...DETAIL_TYPES])('shows the %s message with its Block Kit JSON', (type) => {
    const example = examples.find((e) => e.title === type);

    expect(example?.detailType).toBe(type);
    expect(markdown).toContain(`### ${type}\n`);
    expect(markdown).toContain(`- [${type}](#${anchorOf(type)})`);
  });

  it.each(examples.map((e) => [e.title, e] as const))('keeps "%s" within Slack limits', (_title, example) => {
    expect(slackLimitViolations(example.message)).toEqual([]);
  });

  it('prints every message as JSON that parses back to exactly the blocks certrotor posts', () => {
    // Prepare
    const blocks = [...markdown.matchAll(/```json\n([\s\S]*?)\n```/g)].map(
      (match) => (JSON.parse(match[1] as string) as { blocks: unknown }).blocks,
    );

    // Assess
    expect(blocks).toEqual(examples.map((e) => e.message.blocks));
  });

  it('prints every message as plain text next to its JSON', () => {
    for (const example of examples) {
      expect(markdown).toContain(`\`\`\`text\n${renderPlainText(example.message)}\n\`\`\``);
    }
  });

  it.each(
    DETAIL_TYPES.flatMap((type) => {
      const daysLeft = (catalogue[type].example as { daysLeft?: number }).daysLeft;
      return daysLeft !== undefined && daysLeft >= 2 ? [[type, daysLeft] as const] : [];
    }),
  )('renders the %s example at the moment its %i days left are true', (type, daysLeft) => {
    const example = examples.find((e) => e.title === type);

    expect(example?.message.text).toContain(`${daysLeft} days left`);
  });

  it('mentions the owner group where routing escalates, and routes by owner', () => {
    const expired = examples.find((e) => e.title === 'Certificate Expired');
    const escalated = examples.find((e) => e.title === 'Certificate Expiring, escalated');
    const routine = examples.find((e) => e.title === 'Certificate Expiring');
    const payments = examples.find((e) => e.title === 'Rotation Failed on 40 hosts');

    expect(expired?.message.text.startsWith('<!subteam^S0PLATFORM> ')).toBe(true);
    expect(escalated?.message.text.startsWith('<!subteam^S0PLATFORM> ')).toBe(true);
    expect(messageText(routine!.message)).not.toContain('<!subteam^');
    expect(payments?.about).toContain('`payments-alerts`');
    expect(payments?.message.text.startsWith('<!subteam^S0PAYMENTS> ')).toBe(true);
  });

  it('summarises the longest lists with a count of what is left out', () => {
    const rotation = examples.find((e) => e.title === 'Rotation Failed on 40 hosts');
    const digest = examples.find((e) => e.title.startsWith('Digest of 200 certificates'));

    expect(messageText(rotation!.message)).toContain('*Failed* (40)');
    expect(messageText(rotation!.message)).toMatch(/…and 25 more/);
    expect(digest!.message.text).toContain('200 items within 7 days');
    expect(messageText(digest!.message)).toMatch(/…and \d+ more/);
  });

  it('mentions each owner group once in a digest, however many of its owners have urgent items', () => {
    const digest = examples.find((e) => e.title.startsWith('Digest of 200 certificates'));

    expect(digest!.message.text.match(/<!subteam\^S0PLATFORM>/g)).toHaveLength(1);
  });

  it('includes the operator alert for a channel that refuses messages', () => {
    const operator = examples.find((e) => e.title.startsWith('Operator alert'));

    expect(operator?.message.text).toContain('Notifications to payments-alerts are failing');
    expect(markdown).toContain('### Operator alert: a channel refuses messages\n');
  });

  it('never contains key material', () => {
    expect(looksLikeKeyMaterial(markdown)).toBe(false);
    expect(scrubPrivateKeys(markdown)).toBe(markdown);
    expect(markdown).not.toMatch(/PRIVATE KEY|-----BEGIN/);
  });

  it.each([
    [
      'a link with a label',
      'Runbook: <https://x.example/a|the runbook>',
      'Runbook: the runbook (https://x.example/a)',
    ],
    [
      'a link labelled with its own address',
      '<https://x.example/a|https://x.example/a>',
      'https://x.example/a',
    ],
    ['a group mention', '<!subteam^S0PLATFORM> *Escalated*', '@subteam^S0PLATFORM Escalated'],
    ['escaped text inside code', 'run `a &lt;b&gt; *c*` now', 'run a <b> *c* now'],
    ['an emoji and italics', ':warning: _no owner configured_', '⚠️ no owner configured'],
  ])('renders %s as plain text', (_case, mrkdwn, plain) => {
    expect(mrkdwnToPlain(mrkdwn)).toBe(plain);
  });
});
