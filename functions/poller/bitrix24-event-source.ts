// EventSource adapter over the Bitrix24 REST client: im.v2.Event.get for user
// sources, imbot.v2.Event.get for fetch-mode bots (optionally withUserEvents).
import type { Bitrix24Client } from '../bitrix24/index.js';
import type { SourceConfig } from '../shared/config.js';
import type { EventPage } from '../shared/event-types.js';
import { PollerConfigError } from './errors.js';
import type { EventSource, FetchOptions } from './ports.js';

export function bitrix24EventSource(client: Bitrix24Client, source: SourceConfig, botToken?: string): EventSource {
  const limit = source.pageLimit;
  if (source.kind === 'bot') {
    const botId = source.botId;
    if (botId === undefined) throw new PollerConfigError(`Source "${source.id}" is a bot source without botId; add bot.id from imbot.v2.Bot.register (\`npm run cli -- bot register\` prints it; a v1 imbot.register bot gets no imbot.v2 events).`);
    return {
      portal: client.portal,
      fetch: (offset: number | undefined, options: FetchOptions): Promise<EventPage> =>
        client.getBotEvents(
          {
            botId,
            limit,
            ...(offset === undefined ? {} : { offset }),
            ...(botToken === undefined ? {} : { botToken }),
            ...(source.withUserEvents ? { withUserEvents: true } : {}),
          },
          { deadline: options.deadline },
        ),
      subscribe: (options: FetchOptions) => client.subscribe({ deadline: options.deadline }),
    };
  }
  return {
    portal: client.portal,
    fetch: (offset: number | undefined, options: FetchOptions): Promise<EventPage> =>
      client.getEvents({ limit, ...(offset === undefined ? {} : { offset }) }, { deadline: options.deadline }),
    subscribe: (options: FetchOptions) => client.subscribe({ deadline: options.deadline }),
  };
}
