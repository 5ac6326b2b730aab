/**
 * Every handler's Powertools wiring, as the Powertools middleware does it: the logger carries the
 * Lambda context (request id, function name, cold start), the invocation is traced in a
 * `## <handler>` subsegment annotated with cold start and service (errors recorded, the response
 * never captured: it may name certificates and hosts), and a cold start publishes one `ColdStart`
 * metric (service dimension only: one metric, not one per function).
 */
import { logger, metrics, tracer } from './runtime';

type LambdaContext = Parameters<typeof logger.addContext>[0];

export function instrumented<E, R>(
  handler: (event: E, context?: LambdaContext) => Promise<R>,
): (event?: E, context?: LambdaContext) => Promise<R> {
  return async (event, context) => {
    if (context) logger.addContext(context);
    metrics.captureColdStartMetric();
    const segment = tracer.getSegment();
    const subsegment = segment?.addNewSubsegment(`## ${process.env._HANDLER ?? 'index.handler'}`);
    if (subsegment) tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      return await handler(event as E, context);
    } catch (error) {
      tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      subsegment?.close();
      if (segment) tracer.setSegment(segment);
    }
  };
}
