// consumers/support-bot.ts — bundled by the CDK (esbuild) into the consumer Lambda of each route it is wired to.
import { lambdaConsumer } from 'b24-event-pipeline/consumer';

export const handler = lambdaConsumer({
  // event.data is typed: message, chat, user, language
  ONIMV2MESSAGEADD: async (event, ctx) => {
    const { message, chat, user } = event.data;
    if (user.bot === true || !message.text.toLowerCase().includes('invoice')) return; // loop guard + filter
    ctx.logger.info('invoice question', { dialogId: chat.dialogId });
    // ctx.bitrix24: a REST client for this event's source, from its secret
    await ctx.bitrix24.call('im.message.add', {
      DIALOG_ID: chat.dialogId,
      MESSAGE: `[b]${user.firstName ?? 'Hi'}[/b], accounting will answer today.`,
    });
  },
  ONIMV2MESSAGEDELETE: (event, ctx) => {
    ctx.logger.info(`message ${event.data.messageId} deleted in ${event.data.chat.dialogId}`);
    return Promise.resolve(); // a handler returns a promise; nothing to wait for here
  },
});
