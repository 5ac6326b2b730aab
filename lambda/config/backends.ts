/**
 * What the configuration accepts, some engine runs: for every issuer, destination and source kind,
 * the backends that can run it. The wiring's registries (lambda/wiring/local.ts, aws.ts) are typed
 * against this table, so a kind a registry builds and a kind validation accepts cannot drift apart;
 * `config validate --backend …` and the CDK app (aws) refuse the rest with the path and the reason.
 */
import type { CertrotorConfig, DestinationKind, IssuerKind } from './schema/document';
import type { PathProblem } from '../domain/zod-issues';

export const BACKENDS = ['local', 'aws'] as const;
export type Backend = (typeof BACKENDS)[number];

export type SourceKind = CertrotorConfig['sources'][number]['kind'];

/** Where each backend runs, as messages name it. */
export const BACKEND_LABELS: Record<Backend, string> = {
  local: 'the local backend (the CLI without --backend aws)',
  aws: 'the deployed service (aws backend)',
};

interface KindSupport {
  readonly backends: readonly Backend[];
  /** What to use instead, per backend that cannot run the kind. */
  readonly instead: Partial<Record<Backend, string>>;
}

export const ISSUER_KINDS = {
  'local-ca': { backends: ['local'], instead: { aws: 'use acm-pca' } },
  'acm-pca': { backends: ['aws'], instead: { local: 'use local-ca, or run the CLI with --backend aws' } },
  // On aws: the account key in Secrets Manager, the order journal in the state table, DNS-01 through
  // Route 53 (lambda/wiring/aws.ts); HTTP-01 is refused below (a Lambda serves no HTTP).
  acme: { backends: ['local', 'aws'], instead: {} },
  // ACM exportable public certificates: the CLI (local backend, installing on its hosts) and the
  // deployed service both request, export and redistribute (lambda/wiring/acm-issuer.ts).
  acm: { backends: ['local', 'aws'], instead: {} },
  external: { backends: ['local', 'aws'], instead: {} },
} as const satisfies Record<IssuerKind, KindSupport>;

export const DESTINATION_KINDS = {
  files: {
    backends: ['local'],
    instead: { aws: 'use agent (hosts pull their certificates) or ssm' },
  },
  acm: { backends: ['aws'], instead: { local: 'use files or agent, or run the CLI with --backend aws' } },
  'secrets-manager': {
    backends: ['aws'],
    instead: { local: 'use files or agent, or run the CLI with --backend aws' },
  },
  ssm: { backends: ['aws'], instead: { local: 'use agent, or run the CLI with --backend aws' } },
  agent: { backends: ['local', 'aws'], instead: {} },
} as const satisfies Record<DestinationKind, KindSupport>;

export const SOURCE_KINDS = {
  files: { backends: ['local'], instead: { aws: 'use an endpoint to probe, or a secrets-manager source' } },
  acm: { backends: ['aws'], instead: { local: 'run the CLI with --backend aws' } },
  'secrets-manager': { backends: ['aws'], instead: { local: 'run the CLI with --backend aws' } },
} as const satisfies Record<SourceKind, KindSupport>;

/** The kinds of a table that `backend` runs, as a type (the registries of that backend must build exactly these). */
export type KindsRunBy<Table, B extends Backend> = {
  [K in keyof Table]: Table[K] extends { readonly backends: readonly (infer R)[] }
    ? B extends R
      ? K
      : never
    : never;
}[keyof Table];

/** The kinds of a table that `backend` runs, as values. */
export function kindsRunBy(table: Record<string, KindSupport>, backend: Backend): string[] {
  return Object.entries(table)
    .filter(([, support]) => support.backends.includes(backend))
    .map(([kind]) => kind);
}

const SECTIONS: readonly [section: string, table: Record<string, KindSupport>][] = [
  ['sources', SOURCE_KINDS],
  ['issuers', ISSUER_KINDS],
  ['destinations', DESTINATION_KINDS],
];

/**
 * Every issuer, destination and source whose kind `backend` cannot run, with its path. Runs on the raw
 * document (like the cross references), so these are reported together with every other problem.
 */
export function backendProblems(raw: unknown, backend: Backend): PathProblem[] {
  if (!isRecord(raw)) return [];
  const problems: PathProblem[] = [];
  for (const [section, table] of SECTIONS) {
    const list = raw[section];
    if (!Array.isArray(list)) continue;
    list.forEach((item: unknown, i) => {
      if (!isRecord(item) || typeof item.kind !== 'string') return;
      const support = Object.hasOwn(table, item.kind) ? table[item.kind] : undefined;
      if (section === 'issuers' && item.kind === 'acme') problems.push(...acmeProblems(item, i, backend));
      if (!support || support.backends.includes(backend)) return; // unknown kinds are the schema's
      const instead = support.instead[backend];
      problems.push({
        path: [section, i, 'kind'],
        message: `"${item.kind}" cannot run in ${BACKEND_LABELS[backend]}${instead ? `; ${instead}` : ''}`,
      });
    });
  }
  return problems;
}

/**
 * An ACME issuer on the aws backend answers DNS-01 only: the deployed rotation runs in Lambda, which
 * can neither listen for the CA's HTTP-01 request nor write into a host's webroot.
 */
function acmeProblems(issuer: Record<string, unknown>, index: number, backend: Backend): PathProblem[] {
  const challenge = issuer.challenge;
  if (backend !== 'aws' || !isRecord(challenge) || challenge.type !== 'http-01') return [];
  return [
    {
      path: ['issuers', index, 'challenge', 'type'],
      message: `"http-01" cannot be answered by ${BACKEND_LABELS.aws} (its rotation runs in Lambda, which serves no HTTP); use dns-01 with route53`,
    },
  ];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
