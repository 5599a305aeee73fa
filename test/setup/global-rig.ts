// Starts the real local AWS services once per test run and hands their
// endpoints to every test file through vitest's provide/inject.
import './quiet-warnings.js';
import type { TestProject } from 'vitest/node';
import { startLocalAws, type LocalAws } from '../../functions/local/aws-emulators.js';
import { applyFauxqsFifoBatching } from './fauxqs-fifo-batching.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
    sqsEndpoint: string;
  }
}

let rig: LocalAws | undefined;

export async function setup(project: TestProject): Promise<() => Promise<void>> {
  // fauxqs hands out one message per FIFO group per receive; real SQS up to 10 of one group.
  await applyFauxqsFifoBatching();
  rig = await startLocalAws();
  project.provide('dynamoDbEndpoint', rig.dynamoDbEndpoint);
  project.provide('sqsEndpoint', rig.sqsEndpoint);
  return async () => {
    await rig?.stop();
    rig = undefined;
  };
}
