import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CertRotor, type CertRotorProps } from './certrotor';

export interface CertRotorStackProps extends StackProps, CertRotorProps {}

/** The deployable stack: one CertRotor. The configuration is validated when the construct is created. */
export class CertRotorStack extends Stack {
  readonly certrotor: CertRotor;

  constructor(scope: Construct, id: string, props: CertRotorStackProps) {
    super(scope, id, props);
    this.certrotor = new CertRotor(this, 'CertRotor', props);
  }
}
