// What every Lambda of the pipeline has in common: its own role (no
// AWS-managed policy), its own log group, one bundle format, the metrics
// namespace, and the cdk-nag acknowledgements shared by the parts.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import { METRICS_NAMESPACE } from '../../functions/shared/observability.js';
import { InvalidPipelinePropsError } from '../errors.js';

/** Lambda's hard maximum timeout, 15 min. */
export const MAX_LAMBDA_TIMEOUT_SECONDS = 15 * 60;

/**
 * The SDK credential chain the Lambda bundles use instead of
 * `@aws-sdk/credential-provider-node`: the environment only, which is where
 * Lambda puts the role's credentials (functions/shared/lambda-credentials.ts).
 * `.ts` next to this repository's sources, `.js` in the installed package.
 */
export const LAMBDA_CREDENTIALS_MODULE = resolve(
  fileURLToPath(new URL('../..', import.meta.url)),
  `functions/shared/lambda-credentials${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`,
);

/** esbuild aliases of every Lambda bundle: module → replacement (absolute path). */
export const LAMBDA_BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': LAMBDA_CREDENTIALS_MODULE,
};

/**
 * One bundle format for every Lambda: ESM (the code uses top-level await and
 * ESM-only packages), minified with source maps, the AWS SDK bundled too so
 * its version is the one pinned in package-lock.json (the Node 22 runtime has
 * an SDK v3 of its own, but not ours: a bundled, tested version is the safer
 * default, and it loads faster than the runtime's unminified files). The SDK's
 * credential chain is cut to the environment (LAMBDA_BUNDLE_ALIASES). Local
 * esbuild, no Docker (the alias is an absolute path on this machine).
 */
export const LAMBDA_BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  externalModules: [],
  // CommonJS dependencies bundled into ESM still call require().
  banner: "import { createRequire as __cr } from 'node:module';const require = __cr(import.meta.url);",
  forceDockerBundling: false,
  // Quiet synth: esbuild reports warnings and errors only, not its size table.
  logLevel: LogLevel.WARNING,
  esbuildArgs: { '--alias': Object.entries(LAMBDA_BUNDLE_ALIASES).map(([module, replacement]) => `${module}=${replacement}`) },
};

export interface PipelineFunctionOptions {
  readonly description: string;
  readonly entry: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly reservedConcurrentExecutions?: number;
  readonly maxEventAge?: Duration;
  readonly retryAttempts?: number;
}

/** A Lambda with its own role (no AWS-managed policy) and its own log group, created in `scope` as `id`, `id-Role`, `id-Logs`. */
export function pipelineFunction(scope: Construct, id: string, options: PipelineFunctionOptions): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${id}-Logs`, { retention: options.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const role = new iam.Role(scope, `${id}-Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: options.description,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ sid: 'WriteOwnLogGroup', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
  );
  const fn = new NodejsFunction(scope, id, {
    description: options.description,
    entry: options.entry,
    handler: options.handler,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    timeout: Duration.seconds(options.timeoutSeconds),
    memorySize: options.memorySize,
    role,
    logGroup,
    environment: { ...options.environment, NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE },
    bundling: LAMBDA_BUNDLING,
    ...(options.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
    ...(options.maxEventAge === undefined ? {} : { maxEventAge: options.maxEventAge }),
    ...(options.retryAttempts === undefined ? {} : { retryAttempts: options.retryAttempts }),
  });
  acknowledge(fn, {
    id: 'AwsSolutions-L1',
    reason: 'Pinned to Node.js 22, the runtime the code is tested on (package.json engines, the test suite asserts it); Node.js 22 is supported by Lambda.',
  });
  return fn;
}

export function roleOf(fn: lambda.IFunction): iam.IRole {
  if (fn.role === undefined) throw new InvalidPipelinePropsError(`internal: function ${fn.node.path} has no role`);
  return fn.role;
}

/** One statement for the customer-managed key: tables, queues, bucket (S3 Bucket Key) and secrets. */
export function grantKeyUse(key: kms.IKey, role: iam.IRole): void {
  key.grant(role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
}

/** Acknowledged cdk-nag finding: rule id (with its finding suffix) and why it is acceptable. */
export interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
}

export function acknowledge(scope: IConstruct, acknowledgement: Acknowledgement): void {
  Validations.of(scope).acknowledge(acknowledgement);
}

export function logicalIdOf(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!(child instanceof Construct) || !('logicalId' in child)) throw new InvalidPipelinePropsError(`internal: ${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).resolve((child as { logicalId: string }).logicalId) as string;
}

/** cdk-nag's finding for `<bucket>/*` in a role's policy: object-level access to the claim-check bucket. */
export function acknowledgeObjectWildcard(role: iam.IRole, bucket: IConstruct, why: string): void {
  acknowledge(role, {
    id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(bucket)}.Arn>/*]`,
    reason: `Object-level access to the claim-check bucket only: ${why}.`,
  });
}
