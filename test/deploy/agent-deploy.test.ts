import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = join(__dirname, '..', '..', 'deploy', 'agent');

interface SsmParameter {
  type: string;
  description?: string;
  default?: string;
  allowedPattern?: string;
}
interface SsmStep {
  action: string;
  name: string;
  inputs: { runCommand?: string[]; timeoutSeconds?: string };
}
interface SsmDocument {
  schemaVersion: string;
  description: string;
  parameters: Record<string, SsmParameter>;
  mainSteps: SsmStep[];
}

const PARAMETER_TYPES = ['String', 'StringList', 'Boolean', 'Integer', 'MapList', 'StringMap'];
const STEP_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

describe('the SSM document that installs the agent', () => {
  const text = readFileSync(join(DIR, 'ssm-install-agent.json'), 'utf8');
  const doc = JSON.parse(text) as SsmDocument;

  it('is a schemaVersion 2.2 command document with only known top-level keys', () => {
    expect(doc.schemaVersion).toBe('2.2');
    expect(Object.keys(doc).sort()).toEqual(['description', 'mainSteps', 'parameters', 'schemaVersion']);
    expect(doc.description.length).toBeGreaterThan(0);
  });

  it('declares every parameter with a valid type and a pattern that accepts its default', () => {
    for (const [name, p] of Object.entries(doc.parameters)) {
      expect({ name, ok: /^[A-Za-z0-9]+$/.test(name) && PARAMETER_TYPES.includes(p.type) }).toEqual({
        name,
        ok: true,
      });
      if (p.default !== undefined && p.allowedPattern)
        expect(new RegExp(p.allowedPattern).test(p.default)).toBe(true);
    }
  });

  it('uses only declared parameters in its steps, each step a uniquely named runShellScript', () => {
    const names = doc.mainSteps.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    for (const step of doc.mainSteps) {
      expect(step.action).toBe('aws:runShellScript');
      expect(step.name).toMatch(STEP_NAME);
      expect(Array.isArray(step.inputs.runCommand)).toBe(true);
      const used = [...JSON.stringify(step).matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]);
      for (const u of used) expect(Object.keys(doc.parameters)).toContain(u);
    }
  });

  it('installs a hardened unit that runs `certrotor agent`', () => {
    const script = doc.mainSteps.flatMap((s) => s.inputs.runCommand ?? []).join('\n');
    expect(script).toMatch(/agent --host \$HOST/);
    expect(script).toMatch(/NoNewPrivileges=yes/);
    expect(script).toMatch(/ProtectSystem=strict/);
    expect(script).toMatch(/config validate/);
  });
});

describe('the systemd unit', () => {
  const unit = readFileSync(join(DIR, 'certrotor-agent.service'), 'utf8');

  it.each([
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'ReadWritePaths=',
    'ExecReload=/bin/kill -USR1 $MAINPID',
  ])('sets %s', (line) => {
    expect(unit).toContain(line);
  });

  it('runs the agent for this host', () => {
    expect(unit).toMatch(/^ExecStart=.* agent --host %H$/m);
  });
});
