// `asBot: true` (CallOptions) for clients that do not follow a secret: the
// local runtime's client and tests hold the bot's token themselves. The Lambda
// default adds it from the source secret instead (bitrix24-from-env.ts). Both
// add `botToken` only with webhook auth; OAuth apps are identified by their
// access token (imbot.v2 pages: "Required for webhook authorization, not needed for OAuth").
import { SourceClientError } from './errors.js';
import type { Bitrix24Caller, CallOptions } from './source-clients.js';

/** The params of an `asBot` call: `botToken` added for webhook auth. Throws when a webhook source has none. */
export function paramsAsBot(
  sourceId: string,
  auth: 'webhook' | 'oauth',
  botToken: string | undefined,
  params: Record<string, unknown> | undefined,
): Record<string, unknown> {
  if (auth === 'oauth') return params ?? {};
  if (botToken === undefined || botToken === '') {
    throw new SourceClientError(
      sourceId,
      `source "${sourceId}" answers as a bot through a webhook but its secret has no "botToken": put the token passed to imbot.v2.Bot.register (at most 40 characters) in the source secret (\`b24-pipeline bot register\` does).`,
    );
  }
  return { ...params, botToken };
}

/** Call options as the Bitrix24 client takes them (without `asBot`). */
export function withoutAsBot(options: CallOptions | undefined): Omit<CallOptions, 'asBot'> | undefined {
  if (options?.asBot === undefined) return options;
  const { asBot: _asBot, ...rest } = options;
  return rest;
}

export interface BotTokenCallerInput {
  readonly sourceId: string;
  readonly auth: 'webhook' | 'oauth';
  /** The bot's token (webhook auth). */
  readonly botToken?: string;
}

/** Wraps a caller so that `asBot` calls carry the bot's token (webhook auth only). */
export function botTokenCaller(caller: Bitrix24Caller, input: BotTokenCallerInput): Bitrix24Caller {
  return {
    portal: caller.portal,
    call: async (method, params, options) =>
      options?.asBot === true
        ? await caller.call(method, paramsAsBot(input.sourceId, input.auth, input.botToken, params), withoutAsBot(options))
        : await caller.call(method, params, withoutAsBot(options)),
  };
}
