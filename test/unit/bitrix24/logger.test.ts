import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { type Bitrix24Logger } from '../../../functions/bitrix24/logger.js';
import { redactingLogger } from '../../../functions/bitrix24/logger.js';
import { SecretRedactor } from '../../../functions/bitrix24/redact.js';

describe('logger port', () => {
  it('accepts the Powertools Logger and console', () => {
    const loggers: Bitrix24Logger[] = [new Logger({ serviceName: 'test', logLevel: 'SILENT' }), console];
    expect(loggers).toHaveLength(2);
  });

  it('redacts messages and attributes before they reach the logger', () => {
    const lines: string[] = [];
    const sink: Bitrix24Logger = {
      debug: (m, a) => lines.push(`${m} ${JSON.stringify(a)}`),
      info: (m, a) => lines.push(`${m} ${JSON.stringify(a)}`),
      warn: (m, a) => lines.push(`${m} ${JSON.stringify(a)}`),
      error: (m, a) => lines.push(`${m} ${JSON.stringify(a)}`),
    };
    const redactor = new SecretRedactor();
    redactor.add('unit-logger-secret');
    const logger = redactingLogger(sink, redactor);
    logger.warn('has unit-logger-secret', { nested: { url: 'https://p/rest/1/pathcode/x', token: 'unit-logger-secret' } });
    logger.info('plain');
    expect(lines.join('\n')).not.toMatch(/unit-logger-secret|pathcode/);
    expect(lines).toHaveLength(2);
  });
});
