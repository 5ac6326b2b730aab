/** Starts rotation workflow executions; a duplicate name is `already-started`, not an error. */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { StartExecution } from '../../domain/ports';
import { isAwsError } from './clients';

export function executionStarter(client: SFNClient, stateMachineArn: string): StartExecution {
  return async (name, input) => {
    try {
      await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return 'started';
    } catch (error) {
      if (isAwsError(error, 'ExecutionAlreadyExists')) return 'already-started';
      throw error;
    }
  };
}

export { SFNClient };
