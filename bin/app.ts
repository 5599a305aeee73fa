// `npx cdk synth` / `npx cdk deploy` entry (cdk.json "app"). Configuration:
// the `pipeline` context key in cdk.json, or -c configFile=pipeline.config.json.
// A configuration or props mistake prints its message alone (it names the
// field and the fix): no stack trace, no message printed twice.
import { createPipelineApp } from '../lib/app.js';
import { InfrastructureError } from '../lib/errors.js';

try {
  const { app } = createPipelineApp();
  app.synth();
} catch (error) {
  if (!(error instanceof InfrastructureError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
