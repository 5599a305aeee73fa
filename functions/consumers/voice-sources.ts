// How a consumer learns, per source id, whether to answer as a bot (and which
// botId) or as a user: the one place ctx.reply asks. Today from SOURCES
// (consumer-env.ts); the source registry (functions/registry) replaces this
// with a registry lookup — one function, one line where the consumer is wired.
import type { VoiceSourceLookup } from '../bot/bot-voice.js';
import type { VoiceSource } from '../bot/voice.js';

/** The fields of a configured source the voice needs (ConsumerSource, SourceConfig and RegisteredSource.config all have them). */
export interface VoiceSourceConfig {
  readonly id: string;
  readonly kind: 'user' | 'bot';
  readonly auth: 'webhook' | 'oauth';
  readonly botId?: number;
}

export function voiceSourceOf(config: VoiceSourceConfig): VoiceSource {
  return { id: config.id, kind: config.kind, auth: config.auth, ...(config.botId === undefined ? {} : { botId: config.botId }) };
}

/** A lookup over configured sources (SOURCES in Lambda, the local runtime's sources). */
export function voiceSourcesFromConfig(sources: readonly VoiceSourceConfig[]): VoiceSourceLookup {
  const byId = new Map(sources.map((source) => [source.id, voiceSourceOf(source)]));
  return (sourceId) => byId.get(sourceId);
}

export type { VoiceSourceLookup };
