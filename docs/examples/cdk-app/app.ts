// app.ts — your own CDK app: the pipeline with your consumer (cdk.json: "app": "node app.ts").
import { App, Stack } from 'aws-cdk-lib';
import { B24EventPipeline } from 'b24-event-pipeline';

const app = new App();
const stack = new Stack(app, 'SupportBot');

new B24EventPipeline(stack, 'Pipeline', {
  config: {
    prefix: 'support',
    sources: [{ id: 'helpdesk', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook' }],
  },
  // Route key → your module. One module may serve several routes: wire every
  // route whose event type it handles (ONIMV2MESSAGEADD → message-add, …).
  consumers: {
    'message-add': { entry: 'consumers/support-bot.ts' },
    'message-delete': { entry: 'consumers/support-bot.ts' },
  },
});

app.synth();
