/** Asserts a chat message respects Slack's Block Kit limits; shared by message, digest and notifier tests. */
import type { ChatMessage } from '../../lambda/domain/ports';
import { SLACK_LIMITS } from '../../lambda/domain/notifications/slack-blocks';

interface TextObject {
  type: string;
  text: string;
}

/** Every limit broken by `message`, as lines naming the block; empty when the message is valid. */
export function slackLimitViolations(message: ChatMessage): string[] {
  const problems: string[] = [];
  if (message.text.length === 0) problems.push('text: empty fallback text');
  if (message.text.length > SLACK_LIMITS.fallbackText)
    problems.push(`text: ${message.text.length} characters`);
  if (message.blocks.length > SLACK_LIMITS.blocks) problems.push(`blocks: ${message.blocks.length} blocks`);
  message.blocks.forEach((raw, i) => {
    const block = raw as {
      type: string;
      text?: TextObject;
      fields?: TextObject[];
      elements?: Record<string, unknown>[];
    };
    if (block.type === 'header' && block.text && block.text.text.length > SLACK_LIMITS.headerText) {
      problems.push(`blocks[${i}] header: ${block.text.text.length} characters`);
    }
    if (block.type === 'section') {
      if (!block.text && !block.fields) problems.push(`blocks[${i}] section: neither text nor fields`);
      if (block.text && block.text.text.length > SLACK_LIMITS.sectionText) {
        problems.push(`blocks[${i}] section text: ${block.text.text.length} characters`);
      }
      if (block.text && block.text.text.length === 0) problems.push(`blocks[${i}] section text: empty`);
      if (block.fields && block.fields.length > SLACK_LIMITS.fields) {
        problems.push(`blocks[${i}] section: ${block.fields.length} fields`);
      }
      block.fields?.forEach((field, j) => {
        if (field.text.length > SLACK_LIMITS.fieldText)
          problems.push(`blocks[${i}].fields[${j}]: ${field.text.length} characters`);
      });
    }
    if (block.type === 'context' && (block.elements?.length ?? 0) > SLACK_LIMITS.contextElements) {
      problems.push(`blocks[${i}] context: ${block.elements?.length} elements`);
    }
    if (block.type === 'actions') {
      for (const element of block.elements ?? []) {
        const url = element.url as string | undefined;
        const text = (element.text as TextObject | undefined)?.text ?? '';
        if (url && url.length > SLACK_LIMITS.url)
          problems.push(`blocks[${i}] button url: ${url.length} characters`);
        if (text.length > SLACK_LIMITS.buttonText)
          problems.push(`blocks[${i}] button text: ${text.length} characters`);
      }
    }
  });
  return problems;
}

/** All visible text of a message (fallback text and every block), for content assertions. */
export function messageText(message: ChatMessage): string {
  const out: string[] = [message.text];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') out.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(message.blocks);
  return out.join('\n');
}
