// Builds the CDK app: configuration from context, the stack, and cdk-nag's
// AwsSolutions checks as a policy validation plugin (cdk-nag 3). bin/app.ts
// calls this; the infrastructure tests call it too, so they check the very
// app `cdk synth` produces.
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { B24EventPipelineProps } from './b24-event-pipeline.js';
import { B24EventPipelineStack, stackIdFor } from './b24-event-pipeline-stack.js';
import { loadPipelineConfigFromContext } from './pipeline-config-source.js';

export interface PipelineAppOptions {
  /** Props of the App (context, outdir). @default none: context from cdk.json / -c */
  readonly appProps?: AppProps;
  /** Construct props other than `config`, e.g. your own consumers. @default none */
  readonly pipeline?: Omit<B24EventPipelineProps, 'config'>;
  /** Directory a relative `configFile` is resolved against. @default process.cwd() */
  readonly baseDir?: string;
}

export function createPipelineApp(options: PipelineAppOptions = {}): { app: App; stack: B24EventPipelineStack } {
  const app = new App(options.appProps);
  const config = loadPipelineConfigFromContext(app.node, options.baseDir);
  const stack = new B24EventPipelineStack(app, stackIdFor(config.prefix), {
    ...options.pipeline,
    config,
    description: `Bitrix24 event pipeline "${config.prefix}": scheduled poller, per-route FIFO queues, consumers (b24-event-pipeline)`,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
