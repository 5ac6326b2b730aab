/**
 * Field schemas shared by every section of the configuration file: names and references, durations
 * written as text (parsed to milliseconds), ports, host and DNS names, ARNs, schedules and thresholds.
 */
import * as z from 'zod';
import { tryParseDuration } from '../../domain/duration';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const ENVIRONMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

export function name(description: string) {
  return z
    .string()
    .regex(NAME, "must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit")
    .meta({ description });
}

export function ref(description: string) {
  return z.string().min(1).meta({ description });
}

export const environmentName = z
  .string()
  .regex(
    ENVIRONMENT_NAME,
    "must be 1-63 letters, digits, '.', '_', '/' or '-', starting with a letter or digit",
  )
  .meta({ description: 'Environment name, e.g. `prod/eu-west-1` or `staging`.' });

export const environmentRef = ref('Name of an environment defined in `environments`.');

export function text(description: string, max = 1000) {
  return z.string().min(1).max(max).meta({ description });
}

/** A duration in text (`90d`, `12h`, `1d12h`, `P30D`), parsed to milliseconds. */
export function duration(description: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? undefined
          : `must be a duration with a unit, such as 90d, 12h or P30D (got a ${typeof issue.input})`,
    })
    .regex(/^\s*(?:P|\d)/i, 'must be a duration such as 90d, 12h, 30m, 45s, 1d12h or P30D')
    .transform((value, ctx) => {
      const parsed = tryParseDuration(value);
      if (parsed.ok) return parsed.ms;
      ctx.addIssue({ code: 'custom', message: parsed.problem, input: value });
      return z.NEVER;
    })
    .meta({ description: durationDescription(description) });
}

function durationDescription(description: string): string {
  const [what = '', defaultText] = description.split('@default');
  const note = 'A duration: `90d`, `12h`, `30m`, `1d12h` or ISO 8601 `P30D`.';
  return `${what.trim()} ${note}${defaultText === undefined ? '' : ` @default ${defaultText.trim()}`}`;
}

export const port = z
  .number()
  .int('must be 1-65535')
  .min(1, 'must be 1-65535')
  .max(65535, 'must be 1-65535')
  .meta({ description: 'TCP port, 1-65535.' });

export const hostName = z
  .string()
  .regex(/^[A-Za-z0-9._:[\]-]{1,253}$/, 'must be a host name or an IP address')
  .meta({ description: 'Host name or IP address.' });

export const dnsName = z
  .string()
  .regex(
    /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
    'must be a DNS name (a leading `*.` wildcard is allowed)',
  );

export const ipAddress = z
  .string()
  .refine((v) => z.regexes.ipv4.test(v) || z.regexes.ipv6.test(v), 'must be an IPv4 or IPv6 address');

export const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
export const feedUrl = z.url({ protocol: /^(https?|file)$/, error: 'must be an http(s) or file URL' });

export const fingerprint = z
  .string()
  .regex(
    /^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$/,
    'must be a SHA-256 fingerprint (64 hex digits, colons optional)',
  )
  .transform((v) =>
    v
      .replace(/:/g, '')
      .toUpperCase()
      .replace(/(..)(?!$)/g, '$1:'),
  )
  .meta({
    description: 'SHA-256 fingerprint, as `openssl x509 -fingerprint -sha256` prints it (colons optional).',
  });

export const arn = (service: string, description: string) =>
  z
    .string()
    .regex(new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:\\d{12}:.+$`), `must be an ${service} ARN`)
    .meta({ description });

export const region = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1')
  .meta({ description: 'AWS region.' });

export const accountId = z
  .string({
    error: (issue) => (issue.input === undefined ? undefined : 'must be a 12-digit account id in quotes'),
  })
  .regex(/^\d{12}$/, 'must be a 12-digit account id in quotes')
  .meta({ description: 'AWS account id (quote it in YAML).' });

export const fileMode = z
  .string({
    error: (issue) =>
      issue.input === undefined ? undefined : "must be an octal mode in quotes, e.g. '0600'",
  })
  .regex(/^0?[0-7]{3}$/, "must be an octal mode in quotes, e.g. '0600'");

export const command = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .meta({ description: 'A command: a string run by the shell, or an argument list run without one.' });

export const tags = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .meta({ description: 'Free-form key/value labels.' });

export const KEY_SPECS = ['EC_P256', 'EC_P384', 'RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export const USAGES = ['server', 'client', 'server-and-client'] as const;

export const timeZone = z
  .string()
  .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Paris')
  .meta({ description: 'IANA time zone.' });

function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** EventBridge Scheduler expressions: `rate(…)`, `cron(…)` (six fields) or `at(…)`. */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const rate = /^rate\((\d+) (minutes?|hours?|days?)\)$/.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] as string;
    if (value < 1) return 'rate must be at least 1';
    if (value === 1 && unit.endsWith('s')) return `write rate(1 ${unit.slice(0, -1)})`;
    if (value > 1 && !unit.endsWith('s')) return `write rate(${value} ${unit}s)`;
    return undefined;
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) {
    const fields = (cron[1] as string).trim().split(/\s+/);
    if (fields.length !== 6)
      return `cron needs 6 fields (minutes hours day-of-month month day-of-week year), got ${fields.length}`;
    if (fields[2] !== '?' && fields[4] !== '?') return 'cron needs ? in day-of-month or day-of-week';
    return undefined;
  }
  if (/^at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)$/.test(expression)) return undefined;
  return 'must be rate(N unit), cron(6 fields) or at(yyyy-mm-ddThh:mm:ss)';
}

export const scheduleExpression = z.string().superRefine((value, ctx) => {
  const problem = scheduleExpressionProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
});

export function schedule(defaultExpression: string, description: string) {
  return z
    .strictObject({
      expression: scheduleExpression
        .default(defaultExpression)
        .meta({ description: `EventBridge Scheduler expression. @default \`${defaultExpression}\`` }),
      enabled: z.boolean().default(true).meta({ description: 'Run this job. @default true' }),
      timeZone: timeZone.optional().meta({ description: 'Overrides `schedules.timeZone` for this job.' }),
    })
    .prefault({})
    .meta({ description });
}

export const threshold = z
  .union([z.number().positive('must be a positive number of days'), z.literal('expired')])
  .meta({ description: 'Days before expiry (fractions allowed, e.g. 0.25 for 6 hours), or `expired`.' });

export const thresholds = z
  .array(threshold)
  .min(1)
  .transform((values) => {
    // Same ordering as the threshold policy: days descending without duplicates, `expired` last.
    const days = [...new Set(values.filter((v): v is number => typeof v === 'number'))].sort((a, b) => b - a);
    return [...days, ...(values.includes('expired') ? (['expired'] as const) : [])];
  });
