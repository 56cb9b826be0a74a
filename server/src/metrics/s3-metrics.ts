import type { S3 } from '@aws-sdk/client-s3';
import type { HaulMetrics } from './metrics.js';

/**
 * Times every request the S3 client sends, by operation (PutObject, UploadPart, …), through the
 * AWS SDK's middleware stack. At the `initialize` step the time includes the SDK's retries and
 * back-off: what an upload actually waited for.
 */
export function instrumentS3Client(client: S3, { s3RequestSeconds }: Pick<HaulMetrics, 's3RequestSeconds'>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      const end = s3RequestSeconds.startTimer({ operation });
      try {
        const result = await next(args);
        end({ outcome: 'ok' });
        return result;
      } catch (error) {
        end({ outcome: 'error' });
        throw error;
      }
    },
    { step: 'initialize', name: 'haulRequestMetrics', override: true },
  );
}
