// fauxqs 2.4.1 rejects message bodies with characters outside the Basic
// Multilingual Plane (emoji such as 👍), which real SQS accepts
// (#x10000–#x10FFFF are valid). Chat messages are full of emoji, so locally
// every JSON body is rewritten with such characters as \uXXXX surrogate
// escapes: the same JSON value, so consumers parse exactly what was sent.
// Applied only to clients of the local emulator, never in AWS.
import type { SQSClient, SendMessageBatchCommandInput, SendMessageCommandInput } from '@aws-sdk/client-sqs';

const ASTRAL = /[\u{10000}-\u{10FFFF}]/gu;

/** The body with every astral character JSON-escaped, when it is JSON; otherwise unchanged. */
export function escapeAstralInJson(body: string): string {
  ASTRAL.lastIndex = 0;
  if (!ASTRAL.test(body)) return body;
  try {
    JSON.parse(body);
  } catch {
    return body;
  }
  return body.replace(ASTRAL, (ch) =>
    [...Array.from({ length: ch.length }, (_, i) => ch.charCodeAt(i))].map((code) => `\\u${code.toString(16).padStart(4, '0')}`).join(''),
  );
}

export function escapeAstralCharactersForEmulator(sqs: SQSClient): void {
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'SendMessageBatchCommand') {
        const input = args.input as SendMessageBatchCommandInput;
        input.Entries = input.Entries?.map((entry) => (entry.MessageBody === undefined ? entry : { ...entry, MessageBody: escapeAstralInJson(entry.MessageBody) }));
      } else if (context.commandName === 'SendMessageCommand') {
        const input = args.input as SendMessageCommandInput;
        if (input.MessageBody !== undefined) input.MessageBody = escapeAstralInJson(input.MessageBody);
      }
      return await next(args);
    },
    { step: 'initialize', name: 'b24FauxqsAstralEscape', override: true, priority: 'high' },
  );
}
