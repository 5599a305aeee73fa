import { lambdaConsumer } from 'b24-event-pipeline/consumer';

export const handler = lambdaConsumer({
  ONIMV2MESSAGEADD: async (event, ctx) => {
    ctx.logger.info('message', { id: event.data.message.id });
    await Promise.resolve();
  },
});
