// The poller's Powertools metrics adapter: the SourceId dimension is added
// once per flush (Powertools warns on every re-add, which in production wrote
// a warning to CloudWatch Logs on every poll), every buffered metric still
// carries it, and a shared Metrics instance never labels one source's metrics
// with another's id.
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { powertoolsMetrics } from '../../../functions/poller/observability.js';

type Emf = { _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }; [key: string]: unknown };

/** A Metrics instance whose warnings and EMF lines are collected instead of printed. */
function recordingMetrics(): { metrics: Metrics; warnings: string[]; emf: Emf[] } {
  const warnings: string[] = [];
  const emf: Emf[] = [];
  const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (message: string) => warnings.push(message) };
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'poller-test', logger });
  // Powertools writes EMF through its own Console on stdout.
  (metrics as unknown as { console: { log: (line: string) => void } }).console = { log: (line: string) => emf.push(JSON.parse(line) as Emf) };
  return { metrics, warnings, emf };
}

const namesIn = (doc: Emf): string[] => doc._aws.CloudWatchMetrics.flatMap((m) => m.Metrics.map((x) => x.Name));

describe('powertoolsMetrics', () => {
  it('adds the SourceId dimension once per flush: no "already been added" warning, every metric labelled', () => {
    const { metrics, warnings, emf } = recordingMetrics();
    const adapter = powertoolsMetrics('support', metrics);
    for (let run = 0; run < 2; run += 1) {
      adapter.count('PollSucceeded', 1);
      adapter.count('EventsReceived', 3);
      adapter.milliseconds('ApiLatency', 12);
      adapter.flush();
    }
    expect(warnings).toEqual([]);
    expect(emf).toHaveLength(2);
    for (const doc of emf) {
      expect(doc.SourceId).toBe('support');
      expect(doc._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'SourceId']]);
      expect(namesIn(doc).sort()).toEqual(['ApiLatency', 'EventsReceived', 'PollSucceeded']);
    }
  });

  it('keeps the dimension across the flush Powertools does on its own at 100 values of one metric', () => {
    const { metrics, warnings, emf } = recordingMetrics();
    const adapter = powertoolsMetrics('support', metrics);
    for (let i = 0; i < 101; i += 1) adapter.milliseconds('ApiLatency', i);
    adapter.flush();
    expect(warnings).toEqual([]);
    expect(emf).toHaveLength(2);
    expect(emf.map((doc) => doc.SourceId)).toEqual(['support', 'support']);
  });

  it('publishes one source’s buffered metrics under its own id before another source writes to the shared instance', () => {
    const { metrics, warnings, emf } = recordingMetrics();
    const support = powertoolsMetrics('support', metrics);
    const bot = powertoolsMetrics('helpdesk-bot', metrics);
    support.count('PollSucceeded', 1);
    bot.count('PollSucceeded', 1);
    bot.flush();
    support.count('PollSucceeded', 1);
    support.flush();
    expect(warnings).toEqual([]);
    expect(emf.map((doc) => doc.SourceId)).toEqual(['support', 'helpdesk-bot', 'support']);
  });

});
