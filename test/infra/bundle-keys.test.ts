/**
 * The rotation uses the stack's key for envelope-encrypted bundles (KmsEnvelopeBundleStore): data
 * keys whose encryption context names a certificate and a version, and otherwise the key only through
 * DynamoDB and Secrets Manager.
 */
import { resourcesOf, synthesizeExample } from './support/stack';

const { template } = synthesizeExample();
const json = template.toJSON() as { Resources: Record<string, { Type: string }> };

interface Statement {
  Sid?: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

function statementsOfRole(rolePrefix: string): Statement[] {
  const roleId = Object.keys(json.Resources).find(
    (id) => id.startsWith(rolePrefix) && json.Resources[id]!.Type === 'AWS::IAM::Role',
  );
  if (roleId === undefined) throw new Error(`no role starting with ${rolePrefix}`);
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(roleId))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe("the rotation's use of the key", () => {
  const statements = statementsOfRole('CertRotorRotationStepServiceRole');

  it('generates and decrypts bundle data keys only under a {certificate, version} encryption context', () => {
    const bundleKeys = statements.find((s) => s.Sid === 'BundleDataKeys');

    expect(bundleKeys).toBeDefined();
    expect(actionsOf(bundleKeys!).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(JSON.stringify(bundleKeys!.Resource)).toContain('CertRotorKey');
    expect(bundleKeys!.Condition).toEqual({
      'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['certificate', 'version'] },
      Null: { 'kms:EncryptionContext:certificate': 'false', 'kms:EncryptionContext:version': 'false' },
    });
  });

  it('has no unconditioned use of the key: every other KMS action goes through DynamoDB or Secrets Manager', () => {
    const kms = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));

    expect(kms.length).toBeGreaterThan(0);
    for (const s of kms) expect(s.Condition).toBeDefined();
    const viaService = kms.filter((s) => s.Sid !== 'BundleDataKeys');
    expect(viaService.map((s) => s.Sid)).toEqual(['KeyThroughTableAndSecrets']);
    expect(JSON.stringify(viaService[0]!.Condition)).toMatch(/dynamodb\..*secretsmanager\./);
  });
});
