// Smoke test of the benchmark harness on a tiny configuration, so CI catches
// a broken `npm run bench` early. It checks what the harness reports, never
// how fast anything is (speed is measured by the benchmark, not asserted).
import { describe, expect, it } from 'vitest';
import { drainWithNaivePoller, drainWithRealPoller } from '../../../bench/drain.js';
import { costPerMillionEvents, perThousand } from '../../../bench/cost.js';
import { renderBarChartSvg, renderMarkdownTable } from '../../../bench/report.js';
import { emptyCounts, sqsBilledUnits } from '../../../bench/request-counter.js';
import { distribution, percentile } from '../../../bench/stats.js';
import { rigEndpoints } from '../../setup/rig.js';

describe('bench harness (tiny run)', () => {
  it('drains a backlog through the real poller and counts every request it made', async () => {
    const result = await drainWithRealPoller(rigEndpoints(), {
      name: 'smoke-real',
      backlog: 1200,
      rateLimit: false,
      tuning: { drainIntervalMs: 0 },
    });

    expect(result.eventsPublished).toBe(1200);
    expect(result.pages).toBeGreaterThanOrEqual(2);
    // Every event was sent in a batch: at most 10 per SendMessageBatch.
    expect(result.counts.sqsMessagesSent).toBe(1200);
    expect(result.counts.byCommand['sqs.SendMessageBatch']).toBeGreaterThanOrEqual(120);
    expect(result.counts.byCommand['sqs.SendMessage']).toBeUndefined();
    expect(result.counts.dynamoDbWriteUnits).toBeGreaterThan(0);
    expect(result.bitrix24Calls).toBe(result.pages);
    expect(result.limitedBy.length).toBeGreaterThan(0);
    expect(result.queuedAfter).toBe(1200); // really in the queues
  });

  it('runs the naive baseline with one SendMessage and one PutItem per event', async () => {
    const result = await drainWithNaivePoller(rigEndpoints(), { name: 'smoke-naive', backlog: 40 });

    expect(result.eventsPublished).toBe(40);
    expect(result.counts.byCommand['sqs.SendMessage']).toBe(40);
    expect(result.counts.byCommand['dynamodb.PutItem']).toBe(40);
    expect(result.queuedAfter).toBe(40); // really in the queues
  });
});

describe('bench arithmetic', () => {
  it('takes nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(distribution([3, 1, 2]).max).toBe(3);
  });

  it('bills SQS per started 64 KiB chunk', () => {
    expect(sqsBilledUnits(0)).toBe(1);
    expect(sqsBilledUnits(64 * 1024)).toBe(1);
    expect(sqsBilledUnits(64 * 1024 + 1)).toBe(2);
  });

  it('turns per-1000 counts into a cost per million events', () => {
    const counts = { ...emptyCounts(), sqsBilledRequests: 100, dynamoDbWriteUnits: 2 };
    const k = perThousand(counts, 1, 1000);
    const cost = costPerMillionEvents(k, undefined, 0, 0);
    // 100 SQS requests per 1000 events → 100k per million × $0.50/M = $0.05; 2k WRU × $0.625/M.
    expect(cost.sqsUsd).toBeCloseTo(0.05, 6);
    expect(cost.dynamoDbUsd).toBeCloseTo(0.00125, 6);
  });

  it('renders tables and an SVG chart', () => {
    expect(renderMarkdownTable(['a', 'b'], [['x', 1.5]])).toContain('| x | 1.5 |');
    const svg = renderBarChartSvg({ title: 't', unit: 'ev/s', bars: [{ label: 'a <b>', value: 10, marker: 20 }] });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt;b&gt;');
    expect(svg).toContain('stroke-dasharray');
  });
});
