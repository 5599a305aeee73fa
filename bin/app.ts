// `npx cdk synth` / `npx cdk deploy` entry (cdk.json "app"). Configuration:
// the `pipeline` context key in cdk.json, or -c configFile=pipeline.config.json.
import { createPipelineApp } from '../lib/app.js';

const { app } = createPipelineApp();
app.synth();
