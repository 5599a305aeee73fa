// describeStack: a deployed stack's outputs → what the CLI needs, preferring
// the Prefix / QueueUrls / DeadLetterQueueUrls / Sources outputs and leaving
// what older stacks lack undefined (the AWS target then derives it).
import { describe, expect, it } from 'vitest';
import { StackLookupError } from '../../../functions/cli/errors.js';
import { STACK_OUTPUTS, describeStack } from '../../../functions/cli/target.js';

const QUEUE = 'https://sqs.eu-central-1.amazonaws.com/123456789012/b24-message-add.fifo';
const DLQ = 'https://sqs.eu-central-1.amazonaws.com/123456789012/b24-message-add-dlq.fifo';

const current = [
  { OutputKey: STACK_OUTPUTS.stateTableName, OutputValue: 'b24-state' },
  { OutputKey: STACK_OUTPUTS.prefix, OutputValue: 'b24' },
  { OutputKey: STACK_OUTPUTS.queueUrls, OutputValue: JSON.stringify({ 'message-add': QUEUE }) },
  { OutputKey: STACK_OUTPUTS.deadLetterQueueUrls, OutputValue: JSON.stringify({ 'message-add': DLQ }) },
  {
    OutputKey: STACK_OUTPUTS.sources,
    OutputValue: JSON.stringify([
      { id: 'support', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook', secretName: 'b24/sources/support', withUserEvents: false, mode: 'continuous', enabled: true },
      { id: 'help-bot', kind: 'bot', portal: 'example.bitrix24.com', auth: 'oauth', secretName: 'custom/bot', botId: 7, withUserEvents: true, mode: 'per-schedule', enabled: false },
    ]),
  },
  { OutputKey: 'SecretOfsupport', OutputValue: 'b24/sources/support', Description: 'Secrets Manager secret with the credentials of source "support"' },
];

describe('describeStack', () => {
  it('reads prefix, queue URLs, DLQ URLs and sources from the outputs of a current stack', () => {
    const d = describeStack('B24EventPipeline-b24', current);
    expect(d.stateTableName).toBe('b24-state');
    expect(d.prefix).toBe('b24');
    expect(d.queueUrls).toEqual({ 'message-add': QUEUE });
    expect(d.deadLetterQueueUrls).toEqual({ 'message-add': DLQ });
    expect(d.sources?.map((s) => s.id)).toEqual(['support', 'help-bot']);
    expect(d.sources?.[1]).toMatchObject({ kind: 'bot', botId: 7, withUserEvents: true, mode: 'per-schedule', enabled: false, secretName: 'custom/bot' });
    expect(d.secretNames).toEqual({ support: 'b24/sources/support', 'help-bot': 'custom/bot' });
  });

  it('leaves what an older stack does not output undefined, and derives the prefix from the state table name', () => {
    const d = describeStack('old', [
      { OutputKey: STACK_OUTPUTS.stateTableName, OutputValue: 'acme-state' },
      { OutputKey: 'SecretOfsupport', OutputValue: 'acme/sources/support', Description: 'Secrets Manager secret with the credentials of source "support"' },
    ]);
    expect(d).toEqual({ stateTableName: 'acme-state', prefix: 'acme', secretNames: { support: 'acme/sources/support' } });
  });

  it('rejects a stack without StateTableName and outputs that are not the expected JSON', () => {
    expect(() => describeStack('other', [])).toThrow(StackLookupError);
    const withOutput = (key: string, value: string) => [current[0] ?? {}, { OutputKey: key, OutputValue: value }];
    expect(() => describeStack('s', withOutput(STACK_OUTPUTS.queueUrls, '{not json'))).toThrow(StackLookupError);
    expect(() => describeStack('s', withOutput(STACK_OUTPUTS.queueUrls, '["a"]'))).toThrow(/route → URL/);
    expect(() => describeStack('s', withOutput(STACK_OUTPUTS.deadLetterQueueUrls, '{"a":1}'))).toThrow(StackLookupError);
    expect(() => describeStack('s', withOutput(STACK_OUTPUTS.sources, '{}'))).toThrow(/JSON array/);
  });
});
