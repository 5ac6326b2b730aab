/**
 * DNS-01 answers through Route 53: `ChangeResourceRecordSets` UPSERT of the TXT record, then
 * `GetChange` until the change is INSYNC (served by every Route 53 name server), and a DELETE of the
 * same record afterwards. A name with several outstanding values (a wildcard and its base name share
 * `_acme-challenge.<name>`) keeps all of them in one record set.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { OperationError } from '../../domain/errors';
import type { DnsTxtPort } from '../net/acme/challenges';
import { describeAwsError, isAwsError } from './clients';

export interface Route53DnsOptions {
  readonly client: Route53Client;
  readonly hostedZoneId: string;
  /** TTL of the TXT record. @default 60 */
  readonly ttlSeconds?: number;
  /** Longest wait for INSYNC. @default 300000 */
  readonly maxWaitMs?: number;
  /** Pause between GetChange polls. @default 2000 */
  readonly pollIntervalMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class Route53Dns implements DnsTxtPort {
  private readonly values = new Map<string, Set<string>>();
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: Route53DnsOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async setTxt(name: string, value: string): Promise<void> {
    const values = this.values.get(name) ?? new Set<string>();
    values.add(value);
    this.values.set(name, values);
    const changeId = await this.change('UPSERT', name, [...values]);
    await this.waitInSync(changeId, name);
  }

  async clearTxt(name: string, value: string): Promise<void> {
    const values = this.values.get(name) ?? new Set<string>([value]);
    const remaining = [...values].filter((v) => v !== value);
    try {
      if (remaining.length > 0) await this.change('UPSERT', name, remaining);
      else await this.change('DELETE', name, [value]);
    } catch (error) {
      // Already gone (a retried cleanup): nothing to delete.
      if (!(error instanceof OperationError && /not found|InvalidChangeBatch/i.test(error.message)))
        throw error;
    }
    if (remaining.length > 0) this.values.set(name, new Set(remaining));
    else this.values.delete(name);
  }

  private async change(
    action: 'UPSERT' | 'DELETE',
    name: string,
    values: readonly string[],
  ): Promise<string> {
    const zone = this.options.hostedZoneId.replace(/^\/hostedzone\//, '');
    try {
      const response = await this.options.client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone,
          ChangeBatch: {
            Comment: `certrotor ACME dns-01 ${action === 'DELETE' ? 'cleanup' : 'challenge'}`,
            Changes: [
              {
                Action: action,
                ResourceRecordSet: {
                  Name: `${name}.`,
                  Type: 'TXT',
                  TTL: this.options.ttlSeconds ?? 60,
                  ResourceRecords: values.map((v) => ({ Value: `"${v}"` })),
                },
              },
            ],
          },
        }),
      );
      const id = response.ChangeInfo?.Id;
      if (!id) throw new Error('the response holds no change id');
      return id;
    } catch (error) {
      if (isAwsError(error, 'InvalidChangeBatch') && action === 'DELETE')
        throw new OperationError(
          'route53:ChangeResourceRecordSets',
          `${zone} ${name}`,
          'InvalidChangeBatch: not found',
        );
      throw describeAwsError('route53:ChangeResourceRecordSets', `${zone} ${name} TXT (${action})`, error);
    }
  }

  private async waitInSync(changeId: string, name: string): Promise<void> {
    const deadline = Date.now() + (this.options.maxWaitMs ?? 300_000);
    for (;;) {
      let status: string | undefined;
      try {
        status = (await this.options.client.send(new GetChangeCommand({ Id: changeId }))).ChangeInfo?.Status;
      } catch (error) {
        throw describeAwsError('route53:GetChange', changeId, error);
      }
      if (status === 'INSYNC') return;
      if (Date.now() >= deadline)
        throw new OperationError(
          'route53:GetChange',
          changeId,
          `TXT ${name} still ${status ?? 'unknown'}: not INSYNC in time`,
        );
      await this.sleep(this.options.pollIntervalMs ?? 2000);
    }
  }
}
