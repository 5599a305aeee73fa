// The logging port of the client. Compatible with the Powertools Logger (and
// console). Everything the client logs goes through `redactingLogger`, so a
// secret cannot reach a log line even if it slipped into an attribute.
import { type SecretRedactor } from './redact.js';

/** The client passes at most one attributes object; the rest parameter matches Powertools' signature. */
export interface Bitrix24Logger {
  debug(message: string, ...attributes: Record<string, unknown>[]): void;
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

export const silentLogger: Bitrix24Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export function redactingLogger(logger: Bitrix24Logger, redactor: SecretRedactor): Bitrix24Logger {
  const wrap =
    (level: keyof Bitrix24Logger) =>
    (message: string, attributes?: Record<string, unknown>): void => {
      const safeMessage = redactor.redact(message);
      if (attributes === undefined) logger[level](safeMessage);
      else logger[level](safeMessage, redactor.redactValue(attributes) as Record<string, unknown>);
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
