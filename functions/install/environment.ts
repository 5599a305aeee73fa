// The install function's environment, read and validated on the first
// invocation (never at import time). lib/parts/install-endpoint.ts sets it.
import * as z from 'zod';
import { ENV } from '../shared/observability.js';
import { InstallConfigError } from './errors.js';
import { DEFAULT_TRUSTED_OAUTH_HOSTS, type InstallSettings } from './install-flow.js';

/** Environment variables of the install function (set by lib/parts/install-endpoint.ts). */
export const INSTALL_ENV = {
  stateTableName: ENV.stateTableName,
  registryTableName: 'REGISTRY_TABLE_NAME',
  /** Secrets Manager name of the app secret {clientId, clientSecret}. */
  appSecretName: ENV.appSecretName,
  botCode: 'INSTALL_BOT_CODE',
  botName: 'INSTALL_BOT_NAME',
  botType: 'INSTALL_BOT_TYPE',
  /** "true" to subscribe the installing user's events and add a user source. */
  subscribeUserEvents: 'INSTALL_SUBSCRIBE_USER_EVENTS',
  /** Comma-separated OAuth server hosts accepted in auth.server_endpoint. @default oauth.bitrix.info,oauth.bitrix24.tech */
  trustedOAuthHosts: 'TRUSTED_OAUTH_HOSTS',
} as const;

export interface InstallEnvironment {
  readonly stateTableName: string;
  readonly registryTableName: string;
  readonly appSecretName: string;
  readonly settings: InstallSettings;
}

const schema = z.object({
  [INSTALL_ENV.stateTableName]: z.string().min(1),
  [INSTALL_ENV.registryTableName]: z.string().min(1),
  [INSTALL_ENV.appSecretName]: z.string().min(1),
  [INSTALL_ENV.botCode]: z.string().min(1).max(50).optional(),
  [INSTALL_ENV.botName]: z.string().min(1).max(100).optional(),
  [INSTALL_ENV.botType]: z.enum(['bot', 'supervisor', 'personal', 'openline']).optional(),
  [INSTALL_ENV.subscribeUserEvents]: z.enum(['true', 'false']).optional(),
  [INSTALL_ENV.trustedOAuthHosts]: z.string().min(1).optional(),
});

export function readInstallEnvironment(env: Readonly<Record<string, string | undefined>>): InstallEnvironment {
  const result = schema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.map(String).join('.') || '(env)'}: ${issue.message}`).join('\n');
    throw new InstallConfigError(`The install function's environment is incomplete or invalid:\n${problems}\nThe CDK part (lib/parts/install-endpoint.ts) sets these.`);
  }
  const data = result.data;
  const botCode = data[INSTALL_ENV.botCode];
  const botName = data[INSTALL_ENV.botName];
  const botType = data[INSTALL_ENV.botType];
  const hosts = data[INSTALL_ENV.trustedOAuthHosts];
  return {
    stateTableName: data[INSTALL_ENV.stateTableName],
    registryTableName: data[INSTALL_ENV.registryTableName],
    appSecretName: data[INSTALL_ENV.appSecretName],
    settings: {
      ...(botCode === undefined ? {} : { botCode }),
      ...(botName === undefined ? {} : { botName }),
      ...(botType === undefined ? {} : { botType }),
      subscribeUserEvents: data[INSTALL_ENV.subscribeUserEvents] === 'true',
      trustedOAuthHosts: hosts === undefined ? DEFAULT_TRUSTED_OAUTH_HOSTS : hosts.split(',').map((host) => host.trim()).filter((host) => host !== ''),
    },
  };
}

