// Dev mode runs the module you deploy: `npm run dev -- --handlers
// ./consumers/support-bot.ts` takes the handlers of its
// `handler = lambdaConsumer({...})` (docs/local.md, docs/consumers.md).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadHandlersModule } from '../../functions/local/dev.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));

describe('dev mode --handlers', () => {
  it('loads the handlers of a deployable lambdaConsumer module', async () => {
    const handlers = await loadHandlersModule('fixtures/deployable-consumer.ts', HERE);
    expect(Object.keys(handlers)).toEqual(['ONIMV2MESSAGEADD']);
    expect(typeof handlers.ONIMV2MESSAGEADD).toBe('function');
  });
});
