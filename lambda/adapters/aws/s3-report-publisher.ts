/**
 * Writes the fleet report page to a private S3 bucket: one object, replaced on every run (the
 * bucket's versioning keeps earlier ones), never cached, encrypted with the stack's KMS key when
 * one is given.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { OperationError } from '../../domain/errors';
import type { AwsClientProvider } from './clients';

export interface S3ReportPublisherOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** @default certrotor-report.html */
  readonly key?: string;
  /** KMS key for server-side encryption. @default the bucket's default encryption */
  readonly kmsKeyId?: string;
}

export class S3ReportPublisher {
  readonly key: string;

  constructor(private readonly options: S3ReportPublisherOptions) {
    this.key = options.key ?? 'certrotor-report.html';
  }

  /** Puts `html`; returns the object's location. @throws OperationError naming the bucket and key */
  async publish(html: string): Promise<{ bucket: string; key: string; bytes: number }> {
    const body = Buffer.from(html, 'utf8');
    try {
      await this.options.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.key,
          Body: body,
          ContentType: 'text/html; charset=utf-8',
          CacheControl: 'no-store',
          ...(this.options.kmsKeyId
            ? { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: this.options.kmsKeyId }
            : {}),
        }),
      );
    } catch (error) {
      throw new OperationError(
        'put report',
        `s3://${this.options.bucket}/${this.key}`,
        (error as Error).message,
        {
          cause: error,
        },
      );
    }
    return { bucket: this.options.bucket, key: this.key, bytes: body.length };
  }
}

/** The publisher over a client pool, for composition roots that hold no SDK imports. */
export function awsReportPublisher(
  clients: AwsClientProvider,
  options: Omit<S3ReportPublisherOptions, 'client'>,
): S3ReportPublisher {
  return new S3ReportPublisher({ client: clients.get(S3Client), ...options });
}
