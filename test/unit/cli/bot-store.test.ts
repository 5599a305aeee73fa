// The --stack side of `bot register`: the botToken goes into the source's
// Secrets Manager secret, merged into the JSON the poller reads
// (functions/bitrix24/source-secret.ts); the botId stays in the source
// configuration, so the store says what to deploy. Secrets Manager is faked
// at the SDK's `send` (no emulator for it in the rig).
import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SecretBotStore } from '../../../functions/cli/bot-store.js';

function fakeSecrets(initial: Record<string, unknown>) {
  let value = JSON.stringify(initial);
  const puts: string[] = [];
  const client = {
    send: (command: unknown) => {
      if (command instanceof GetSecretValueCommand) return Promise.resolve({ SecretString: value });
      if (command instanceof PutSecretValueCommand) {
        value = command.input.SecretString ?? '';
        puts.push(value);
        return Promise.resolve({});
      }
      return Promise.reject(new Error('unexpected command'));
    },
  } as unknown as SecretsManagerClient;
  return { client, puts, current: () => JSON.parse(value) as Record<string, unknown> };
}

const webhookUrl = 'https://example.bitrix24.com/rest/1/code/';

describe('SecretBotStore', () => {
  it('merges botToken into the secret, keeps the other fields, and asks for botId in the configuration', async () => {
    const secrets = fakeSecrets({ webhookUrl });
    const store = new SecretBotStore({ client: secrets.client, secretName: 'b24/sources/bot', sourceId: 'bot' });

    await store.saveToken('tok');
    const todo = await store.saveBot({ botId: 42, botToken: 'tok' });

    expect(secrets.current()).toEqual({ webhookUrl, botToken: 'tok' });
    expect(secrets.puts).toHaveLength(1);
    expect(todo).toContain('botId: 42');
    expect(todo).toContain('npx cdk deploy');
    expect(await store.read()).toEqual({ botToken: 'tok' });
  });

  it('asks for nothing when the configuration already has the botId, and forget() removes only botToken', async () => {
    const secrets = fakeSecrets({ webhookUrl, botToken: 'tok' });
    const store = new SecretBotStore({ client: secrets.client, secretName: 'b24/sources/bot', sourceId: 'bot', configuredBotId: 42 });

    expect(await store.read()).toEqual({ botId: 42, botToken: 'tok' });
    expect(await store.saveBot({ botId: 42, botToken: 'tok' })).toBeUndefined();
    expect(secrets.puts).toEqual([]);
    await store.forget();
    expect(secrets.current()).toEqual({ webhookUrl });
  });

  it('never puts a secret value into its errors', async () => {
    const client = { send: () => Promise.resolve({ SecretString: 'not json tok-secret' }) } as unknown as SecretsManagerClient;
    const store = new SecretBotStore({ client, secretName: 'b24/sources/bot', sourceId: 'bot' });
    await expect(store.read()).rejects.toThrow(/not a JSON object/);
    await expect(store.read()).rejects.not.toThrow(/tok-secret/);
  });
});
