/**
 * Each function's role, scoped to its job: the state table and the bus for the jobs that use them;
 * certificate secrets under the certrotor prefix (or named as destinations), the configured private
 * CAs, ACM certificates and SSM install documents for the rotation and the upstream watcher; read-only
 * discovery for the inventory and the probes' sibling sweep; only the webhook parameters and secrets
 * for the Slack posters.
 */
import {
  ArnFormat,
  Stack,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_secretsmanager as secretsmanager,
  aws_stepfunctions as sfn,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { CertrotorConfig } from '../../lambda/config/configuration';

export interface JobFunctions {
  readonly inventory: lambda.IFunction;
  readonly probe: lambda.IFunction;
  readonly planner: lambda.IFunction;
  readonly 'rotation-step': lambda.IFunction;
  readonly notifier: lambda.IFunction;
  readonly 'acm-expiry-event': lambda.IFunction;
  readonly 'upstream-watch': lambda.IFunction;
  readonly digest?: lambda.IFunction;
}

export interface PermissionsProps {
  readonly config: CertrotorConfig;
  readonly key: kms.IKey;
  readonly table: dynamodb.ITable;
  readonly bus: events.IEventBus;
  readonly stateMachine: sfn.IStateMachine;
  readonly webhookSecrets: readonly secretsmanager.ISecret[];
  readonly functions: JobFunctions;
  /** Probe functions of the network placements: the probe's grants. */
  readonly additionalProbes?: readonly lambda.IFunction[];
  /**
   * Those of them whose placement reaches the inventory's APIs (`readsInventory`): like the default
   * probe, the inventory's read-only grants for the sibling sweep.
   */
  readonly inventoryProbes?: readonly lambda.IFunction[];
  /** Rotation-step functions of other network placements (Verify only): the rotation's grants, issuing aside. */
  readonly additionalVerifiers?: readonly lambda.IFunction[];
}

/** Grants every function what its job needs, and nothing else. */
export function grantJobPermissions(scope: Construct, props: PermissionsProps): void {
  const { config, key, table, bus, functions } = props;
  props.stateMachine.grantStartExecution(functions.planner);
  for (const name of ['inventory', 'probe', 'planner', 'notifier', 'acm-expiry-event'] as const) {
    table.grantReadWriteData(functions[name]);
  }
  // The rotation and the upstream watcher also use the key themselves (bundle data keys): their table
  // grant leaves the key out and grantRotation scopes each use of the key.
  for (const name of ['rotation-step', 'upstream-watch'] as const) {
    table.grant(functions[name], ...TABLE_DATA_ACTIONS);
  }
  for (const name of [
    'inventory',
    'probe',
    'rotation-step',
    'notifier',
    'acm-expiry-event',
    'upstream-watch',
  ] as const) {
    bus.grantPutEventsTo(functions[name]);
  }
  for (const probe of props.additionalProbes ?? []) {
    table.grantReadWriteData(probe);
    bus.grantPutEventsTo(probe);
  }
  grantRotation(scope, functions['rotation-step'], config, key);
  for (const verifier of props.additionalVerifiers ?? []) {
    table.grant(verifier, ...TABLE_DATA_ACTIONS);
    bus.grantPutEventsTo(verifier);
    grantRotation(scope, verifier, config, key, { issue: false });
  }
  // The upstream watcher delivers vendor material (client certificates, trust bundles) to consumers.
  grantRotation(scope, functions['upstream-watch'], config, key, { issue: false });
  grantInventory(scope, functions.inventory, config, key);
  // The probe's sibling sweep reads the inventory sources again (read-only, the inventory's grants)
  // when a finding's certificate was last recorded in one of their places.
  for (const probe of [functions.probe, ...(props.inventoryProbes ?? [])])
    grantInventory(scope, probe, config, key);
  grantAcmRenewalChecks(functions.planner, config);
  grantRenewalInfoReads(scope, functions.planner, config);
  grantInventory(scope, functions['acm-expiry-event'], config, key);
  for (const secret of props.webhookSecrets) secret.grantRead(functions.notifier);
  grantWebhookReads(scope, functions.notifier, config);
  const digestFunction = functions.digest;
  if (digestFunction) {
    // Reads held items and claims each occurrence (table), reports missed jobs (bus), posts (webhooks).
    table.grantReadWriteData(digestFunction);
    bus.grantPutEventsTo(digestFunction);
    for (const secret of props.webhookSecrets) secret.grantRead(digestFunction);
    grantWebhookReads(scope, digestFunction, config);
  }
}

/** The ARN of the SSM parameter `nameOrArn` (a name is in the stack's account and region). */
export function parameterArn(scope: Construct, nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  return Stack.of(scope).formatArn({
    service: 'ssm',
    resource: 'parameter',
    resourceName: nameOrArn.replace(/^\//, ''),
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

/**
 * Reading the SecureString parameters that hold the channels' webhook URLs, and the webhook secrets
 * the configuration gives by ARN (their key, if not the default one, must let the posters decrypt).
 * Decrypting a parameter needs no more: the default `aws/ssm` key lets the account's principals use
 * it through SSM, and the Slack posters already use the stack's key (table grant) for a parameter
 * encrypted with it.
 */
function grantWebhookReads(scope: Construct, fn: lambda.IFunction, config: CertrotorConfig): void {
  const parameters = [
    ...new Set(
      config.notifications.channels.flatMap((c) => (c.webhook.parameter ? [c.webhook.parameter] : [])),
    ),
  ];
  if (parameters.length > 0)
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WebhookParameters',
        actions: ['ssm:GetParameter'],
        resources: parameters.map((p) => parameterArn(scope, p)),
      }),
    );
  // A webhook secret given by ARN exists already (the stack creates only those given by name).
  const secretArns = [
    ...new Set(
      config.notifications.channels.flatMap((c) =>
        c.webhook.secretId?.startsWith('arn:') ? [c.webhook.secretId] : [],
      ),
    ),
  ];
  if (secretArns.length > 0)
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'WebhookSecretsByArn',
        actions: ['secretsmanager:GetSecretValue'],
        resources: secretArns,
      }),
    );
}

/** grantReadWriteData's table actions, without its unconditioned grant on the table's key. */
const TABLE_DATA_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:DescribeTable',
] as const;

function grantRotation(
  scope: Construct,
  fn: lambda.IFunction,
  config: CertrotorConfig,
  key: kms.IKey,
  options: { issue?: boolean } = {},
): void {
  const stack = Stack.of(scope);
  const secretPrefix = config.aws.secretPrefix;
  const secretArn = (name: string) =>
    name.startsWith('arn:')
      ? name
      : stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${name}-??????`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
  const destinationSecrets = config.destinations.flatMap((d) =>
    d.kind === 'secrets-manager' ? [secretArn(d.secretId)] : [],
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'CertificateSecrets',
      actions: [
        'secretsmanager:CreateSecret',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:ListSecretVersionIds',
        'secretsmanager:TagResource',
      ],
      resources: [
        stack.formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: `${secretPrefix}*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
        ...destinationSecrets,
      ],
    }),
  );
  // The key through DynamoDB (the table) and Secrets Manager (bundle, destination and issuance secrets) only.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'KeyThroughTableAndSecrets',
      actions: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*'],
      resources: [key.keyArn],
      conditions: {
        StringEquals: {
          'kms:ViaService': [
            `dynamodb.${stack.region}.amazonaws.com`,
            `secretsmanager.${stack.region}.amazonaws.com`,
          ],
        },
      },
    }),
  );
  // Directly: data keys of envelope-encrypted bundles (KmsEnvelopeBundleStore), whose encryption
  // context names a certificate and a version and nothing else.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'BundleDataKeys',
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [key.keyArn],
      conditions: {
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['certificate', 'version'] },
        Null: { 'kms:EncryptionContext:certificate': 'false', 'kms:EncryptionContext:version': 'false' },
      },
    }),
  );
  const cas =
    options.issue === false
      ? []
      : config.issuers.flatMap((i) => (i.kind === 'acm-pca' ? [i.certificateAuthorityArn] : []));
  if (cas.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PrivateCa',
        actions: [
          'acm-pca:IssueCertificate',
          'acm-pca:GetCertificate',
          'acm-pca:DescribeCertificateAuthority',
        ],
        resources: cas,
      }),
    );
  }
  if (options.issue !== false) grantAcme(fn, config, secretArn);
  if (options.issue !== false) grantAcmIssuers(fn, config);
  const acmArns = config.destinations.flatMap((d) => (d.kind === 'acm' ? [d.certificateArn] : []));
  if (acmArns.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AcmReimport',
        actions: [
          'acm:ImportCertificate',
          'acm:DescribeCertificate',
          'acm:GetCertificate',
          'acm:ListTagsForCertificate',
          'acm:AddTagsToCertificate',
        ],
        resources: acmArns,
      }),
    );
  }
  if (config.destinations.some((d) => d.kind === 'ssm')) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SsmInstall',
        actions: ['ssm:SendCommand'],
        resources: [
          stack.formatArn({ service: 'ssm', resource: 'document', resourceName: 'certrotor-*' }),
          stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' }),
        ],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SsmResults',
        actions: ['ssm:GetCommandInvocation', 'ssm:ListCommandInvocations', 'ec2:DescribeInstances'],
        resources: ['*'],
      }),
    );
  }
}

/**
 * ACME issuers (DNS-01): TXT records named `_acme-challenge.*` in the configured hosted zones only
 * (UPSERT and DELETE), GetChange to wait for INSYNC, and the External Account Binding MAC keys kept in
 * Secrets Manager. The account key is a secret under the certrotor prefix and the order journal is in
 * the state table: those grants are the rotation's own (CertificateSecrets, the table, BundleDataKeys).
 */
function grantAcme(fn: lambda.IFunction, config: CertrotorConfig, secretArn: (name: string) => string): void {
  const stack = Stack.of(fn);
  const acme = config.issuers.flatMap((i) => (i.kind === 'acme' ? [i] : []));
  const zones = [
    ...new Set(
      acme.flatMap((i) =>
        i.challenge.type === 'dns-01'
          ? [i.challenge.route53.hostedZoneId.replace(/^\/hostedzone\//, '')]
          : [],
      ),
    ),
  ].sort();
  if (zones.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AcmeDns01Records',
        actions: ['route53:ChangeResourceRecordSets'],
        resources: zones.map((zone) =>
          stack.formatArn({
            service: 'route53',
            region: '',
            account: '',
            resource: 'hostedzone',
            resourceName: zone,
          }),
        ),
        conditions: {
          'ForAllValues:StringEquals': {
            'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
            'route53:ChangeResourceRecordSetsActions': ['UPSERT', 'DELETE'],
          },
          'ForAllValues:StringLike': {
            'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.*'],
          },
        },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AcmeDns01Changes',
        actions: ['route53:GetChange'],
        resources: [
          stack.formatArn({
            service: 'route53',
            region: '',
            account: '',
            resource: 'change',
            resourceName: '*',
          }),
        ],
      }),
    );
  }
  const eabSecrets = [
    ...new Set(acme.flatMap((i) => (i.eab?.hmacKeySecretId ? [secretArn(i.eab.hmacKeySecretId)] : []))),
  ];
  if (eabSecrets.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AcmeEabKeys',
        actions: ['secretsmanager:GetSecretValue'],
        resources: eabSecrets,
      }),
    );
  }
}

/** The ACM certificates of `acm` issuers: those tagged with the issuer's name, in its region. */
function acmIssuerCertificates(
  fn: lambda.IFunction,
  config: CertrotorConfig,
): iam.PolicyStatementProps | undefined {
  const stack = Stack.of(fn);
  const issuers = config.issuers.flatMap((i) => (i.kind === 'acm' ? [i] : []));
  if (issuers.length === 0) return undefined;
  return {
    resources: [
      ...new Set(
        issuers.map((i) =>
          stack.formatArn({
            service: 'acm',
            region: i.region ?? stack.region,
            resource: 'certificate',
            resourceName: '*',
          }),
        ),
      ),
    ].sort(),
    conditions: { StringEquals: { 'aws:ResourceTag/certrotor:issuer': issuers.map((i) => i.name).sort() } },
  };
}

/**
 * `acm` issuers (ACM exportable public certificates): RequestCertificate only with the issuer's tag;
 * DescribeCertificate and ExportCertificate only of certificates carrying it; ACM's validation CNAMEs
 * (names starting with `_`, UPSERT only: they stay for ACM's renewals) in the configured zones, and
 * GetChange to wait for INSYNC.
 */
function grantAcmIssuers(fn: lambda.IFunction, config: CertrotorConfig): void {
  const certificates = acmIssuerCertificates(fn, config);
  if (!certificates) return;
  const stack = Stack.of(fn);
  const issuers = config.issuers.flatMap((i) => (i.kind === 'acm' ? [i] : []));
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'AcmExportableRequest',
      actions: ['acm:RequestCertificate', 'acm:AddTagsToCertificate'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestTag/certrotor:issuer': issuers.map((i) => i.name).sort() } },
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'AcmExportableCertificates',
      actions: ['acm:DescribeCertificate', 'acm:ExportCertificate'],
      ...certificates,
    }),
  );
  const zones = [
    ...new Set(issuers.map((i) => i.validation.route53.hostedZoneId.replace(/^\/hostedzone\//, ''))),
  ].sort();
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'AcmValidationRecords',
      actions: ['route53:ChangeResourceRecordSets'],
      resources: zones.map((zone) =>
        stack.formatArn({
          service: 'route53',
          region: '',
          account: '',
          resource: 'hostedzone',
          resourceName: zone,
        }),
      ),
      conditions: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsRecordTypes': ['CNAME'],
          'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
        },
        'ForAllValues:StringLike': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_*'] },
      },
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'AcmValidationChanges',
      actions: ['route53:GetChange'],
      resources: [
        stack.formatArn({
          service: 'route53',
          region: '',
          account: '',
          resource: 'change',
          resourceName: '*',
        }),
      ],
    }),
  );
}

/** The planner compares what ACM holds for each acm-issued certificate with what was distributed. */
function grantAcmRenewalChecks(fn: lambda.IFunction, config: CertrotorConfig): void {
  const certificates = acmIssuerCertificates(fn, config);
  if (!certificates) return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'AcmRenewalChecks',
      actions: ['acm:DescribeCertificate'],
      ...certificates,
    }),
  );
}

/**
 * ARI: the planner reads the current certificate of each acme-issued certificate to ask its CA for the
 * renewal window. Bundles in the table need the table grant it has; a bundle hosts read is the secret
 * `<secretPrefix><name>`: only those names, not the prefix (account keys live under it).
 */
function grantRenewalInfoReads(scope: Construct, fn: lambda.IFunction, config: CertrotorConfig): void {
  const acme = new Set(config.issuers.filter((i) => i.kind === 'acme').map((i) => i.name));
  const names = config.certificates.filter((c) => acme.has(c.issuer)).map((c) => c.name);
  if (names.length === 0) return;
  const resourceName = (name: string) => `${config.aws.secretPrefix}${name}-??????`;
  const arnFormat = ArnFormat.COLON_RESOURCE_NAME;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'RenewalInfoCertificates',
      actions: ['secretsmanager:GetSecretValue'],
      resources: names.map((n) =>
        Stack.of(scope).formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: resourceName(n),
          arnFormat,
        }),
      ),
    }),
  );
}

function grantInventory(
  scope: Construct,
  fn: lambda.IFunction,
  config: CertrotorConfig,
  key: kms.IKey,
): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ListCertificates',
      actions: ['acm:ListCertificates', 'secretsmanager:ListSecrets'],
      resources: ['*'],
    }),
  );
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadAcmCertificates',
      actions: ['acm:DescribeCertificate', 'acm:GetCertificate'],
      resources: [Stack.of(scope).formatArn({ service: 'acm', resource: 'certificate', resourceName: '*' })],
    }),
  );
  // Only secrets tagged as certificates; the inventory never reads webhook or other secrets.
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadTaggedCertificateSecrets',
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: ['*'],
      conditions: { Null: { 'aws:ResourceTag/certrotor:certificate': 'false' } },
    }),
  );
  // The private CAs' own certificates are inventory too (no AWS event warns of a CA's expiry).
  const cas = config.issuers.flatMap((i) => (i.kind === 'acm-pca' ? [i.certificateAuthorityArn] : []));
  if (cas.length > 0) {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadPrivateCaCertificates',
        actions: ['acm-pca:DescribeCertificateAuthority', 'acm-pca:GetCertificateAuthorityCertificate'],
        resources: cas,
      }),
    );
  }
  key.grantDecrypt(fn);
}
