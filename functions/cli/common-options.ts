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
