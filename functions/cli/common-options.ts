import type { TargetOptions } from './target.js';
// The options every CLI command shares (node:util parseArgs tables): output,
// and where the pipeline is — a local rig or a deployed stack (target.ts).
export const OUTPUT_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A deployed stack: --stack <name> [--region <r>] (env B24_PIPELINE_STACK). */
export const STACK_OPTIONS = {
  stack: { type: 'string' },
  region: { type: 'string' },
} as const;

/** Every way to name the target: the local rig (state file, endpoints, prefix) or a stack. */
export const TARGET_OPTIONS = {
  local: { type: 'boolean' },
  'state-file': { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
  'sqs-endpoint': { type: 'string' },
  prefix: { type: 'string' },
  ...STACK_OPTIONS,
} as const;

/** The parsed TARGET_OPTIONS as resolveTarget's input (absent flags stay absent). */
export function targetOptionsOf(values: {
  readonly local?: boolean | undefined;
  readonly 'state-file'?: string | undefined;
  readonly 'dynamodb-endpoint'?: string | undefined;
  readonly 'sqs-endpoint'?: string | undefined;
  readonly prefix?: string | undefined;
  readonly stack?: string | undefined;
  readonly region?: string | undefined;
}): TargetOptions {
  return {
    ...(values.local === undefined ? {} : { local: values.local }),
    ...(values['state-file'] === undefined ? {} : { stateFile: values['state-file'] }),
    ...(values['dynamodb-endpoint'] === undefined ? {} : { dynamoDbEndpoint: values['dynamodb-endpoint'] }),
    ...(values['sqs-endpoint'] === undefined ? {} : { sqsEndpoint: values['sqs-endpoint'] }),
    ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
    ...(values.stack === undefined ? {} : { stack: values.stack }),
    ...(values.region === undefined ? {} : { region: values.region }),
  };
}
