// Pure pieces of the local runtime: statistics, the verdict, rendering, the
// emulator body shim and the reading of portal settings (no I/O).
import { describe, expect, it } from 'vitest';
import { FlowStats, percentile } from '../../../functions/local/flow-stats.js';
import { MissingPortalCredentialsError } from '../../../functions/local/errors.js';
import { envelopeFacts } from '../../../functions/local/observers.js';
import { portalSettingsFromEnv } from '../../../functions/local/portal-env.js';
import { renderFrame, renderPlainLine } from '../../../functions/local/progress-view.js';
import { formatSummary, summarizeRun } from '../../../functions/local/run-summary.js';

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);

    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([], 50)).toBeUndefined();
  });
});

describe('summarizeRun', () => {
  it('counts a duplicate delivery as absorbed and a missing event as lost', () => {
    const stats = new FlowStats();
    stats.recordConsumed('s', 1, 'ONIMV2MESSAGEADD', 100);
    stats.recordConsumed('s', 1, 'ONIMV2MESSAGEADD', 120);
    stats.recordConsumed('s', 2, 'ONIMV2JOINCHAT', 300);

    const summary = summarizeRun({ generatedIds: new Map([['s', [1, 2, 3]]]), stats, deadLettered: 0, durationMs: 1000 });

    expect(summary).toMatchObject({ generated: 3, consumed: 2, lost: 1, duplicatesAbsorbed: 1, ok: false, lostSample: { s: [3] } });
    expect(formatSummary(summary)).toContain('LOST                1 event(s) never consumed (first ids: s: 3)');
  });

  it('is ok when every generated event was consumed', () => {
    const stats = new FlowStats();
    stats.recordConsumed('s', 7, 'X', undefined);

    expect(summarizeRun({ generatedIds: new Map([['s', [7]]]), stats, deadLettered: 0, durationMs: 1 }).ok).toBe(true);
  });
});

describe('progress view', () => {
  it('renders per-type counters, lease holder and queue depths', () => {
    const stats = new FlowStats();
    stats.recordPolled(['ONIMV2MESSAGEADD', 'ONIMV2MESSAGEADD']);
    stats.recordPublished('ONIMV2MESSAGEADD');
    stats.recordConsumed('s', 1, 'ONIMV2MESSAGEADD', 1500);
    const frame = {
      title: 'demo',
      elapsedMs: 2000,
      flow: stats.snapshot(),
      sources: [{ sourceId: 's', committedOffset: 2, leaseHolder: 'me', leaseExpiresInMs: 20_000, runs: 1 }],
      queues: { visible: 1, inFlight: 0, deadLettered: 0 },
    };

    const lines = renderFrame(frame);

    expect(lines[2]).toMatch(/^ONIMV2MESSAGEADD\s+2\s+1\s+1\s+1\.5 s$/);
    expect(lines.join('\n')).toContain('source s · offset 2 · lease me (expires in 20.0 s)');
    expect(renderPlainLine(frame)).toBe('[2.0 s] · polled 2 · published 1 · consumed 1 · age p50 1.5 s · s@2 lease me · waiting 1 DLQ 0');
  });
});

describe('envelopeFacts', () => {
  it('reads inline and claim-check envelopes', () => {
    const inline = JSON.stringify({ schemaVersion: 1, sourceId: 's', portal: 'p', receivedAt: 'x', event: { eventId: 5, type: 'T', date: 'd', data: {} } });
    const claim = JSON.stringify({ schemaVersion: 1, sourceId: 's', portal: 'p', receivedAt: 'x', eventRef: { bucket: 'b', key: 'k', eventId: 6, type: 'U', sizeBytes: 1 } });

    expect(envelopeFacts(inline)).toEqual({ sourceId: 's', eventId: 5, type: 'T', date: 'd' });
    expect(envelopeFacts(claim)).toEqual({ sourceId: 's', eventId: 6, type: 'U' });
    expect(envelopeFacts('{"n":1}')).toBeUndefined();
  });
});

describe('portalSettingsFromEnv', () => {
  it('builds a user source from a webhook URL', () => {
    const settings = portalSettingsFromEnv({ B24_WEBHOOK_URL: 'https://acme.bitrix24.com/rest/1/s3cr3tc0de/' }, { tokenFile: '/tmp/x' });

    expect(settings.source).toMatchObject({ id: 'dev', kind: 'user', portal: 'acme.bitrix24.com', auth: 'webhook' });
  });

  it('names the missing variables and never echoes values', () => {
    const attempt = () => portalSettingsFromEnv({ B24_OAUTH_CLIENT_ID: 'app.123', B24_OAUTH_CLIENT_SECRET: 'topsecretvalue' }, { tokenFile: '/tmp/x' });

    expect(attempt).toThrow(MissingPortalCredentialsError);
    expect(attempt).toThrow(/B24_OAUTH_REFRESH_TOKEN, B24_OAUTH_CLIENT_ENDPOINT/);
    expect(attempt).not.toThrow(/topsecretvalue/);
  });

  it('requires the bot token for a bot read through a webhook', () => {
    expect(() => portalSettingsFromEnv({ B24_WEBHOOK_URL: 'https://acme.bitrix24.com/rest/1/c/', B24_BOT_ID: '7' }, { tokenFile: '/tmp/x' })).toThrow(/B24_BOT_TOKEN/);
  });
});
