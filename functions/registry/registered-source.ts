// Pure rules shared by every registry adapter: what may be registered, and how
// a source is turned into the stored item and back. Validation is the config's
// own (parseSourceConfig), so a source added at run time is held to exactly
// the rules a source in the CDK config is.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { type SourceConfig, parseSourceConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import { CorruptRegistryItemError, InvalidSourceError } from './errors.js';
import type { RegisteredSource, SourceCredentialsRef, SourceOrigin } from './source-registry.js';

const ORIGINS: readonly SourceOrigin[] = ['config', 'cli', 'install'];
const MEMBER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Validates a source and its credentials reference; throws InvalidSourceError naming every bad field. */
export function validateRegistration(input: unknown, credentials: SourceCredentialsRef, origin: SourceOrigin): { config: SourceConfig; credentials: SourceCredentialsRef } {
  const idOf = (value: unknown): string | undefined =>
    typeof value === 'object' && value !== null && 'id' in value && typeof value.id === 'string' ? value.id : undefined;
  let config: SourceConfig;
  try {
    config = parseSourceConfig(input, `source${idOf(input) === undefined ? '' : ` "${idOf(input) ?? ''}"`}`);
  } catch (error) {
    if (error instanceof ConfigError) throw new InvalidSourceError(error.message, idOf(input), { cause: error });
    throw error;
  }
  if (!ORIGINS.includes(origin)) throw new InvalidSourceError(`Source "${config.id}": origin must be one of ${ORIGINS.join(', ')}.`, config.id);
  if (credentials.kind === 'secret') {
    if (credentials.secretName.length === 0 || credentials.secretName.length > 512) {
      throw new InvalidSourceError(`Source "${config.id}": credentials.secretName must be 1–512 characters (a Secrets Manager secret name).`, config.id);
    }
    if (config.secretName !== undefined && config.secretName !== credentials.secretName) {
      throw new InvalidSourceError(
        `Source "${config.id}": secretName "${config.secretName}" differs from the credentials' secret "${credentials.secretName}"; give one name (or drop secretName).`,
        config.id,
      );
    }
    return { config, credentials: { kind: 'secret', secretName: credentials.secretName } };
  }
  if (credentials.kind === 'app-install') {
    if (!MEMBER_ID_PATTERN.test(credentials.memberId)) {
      throw new InvalidSourceError(`Source "${config.id}": credentials.memberId must be the portal's member_id (letters, digits, _ and -, ≤ 128).`, config.id);
    }
    if (config.auth !== 'oauth') {
      throw new InvalidSourceError(`Source "${config.id}": an app-install source authenticates with the app's OAuth tokens; set auth to "oauth".`, config.id);
    }
    return { config, credentials: { kind: 'app-install', memberId: credentials.memberId } };
  }
  throw new InvalidSourceError(`Source "${config.id}": credentials.kind must be "secret" or "app-install".`, config.id);
}

type Item = Record<string, AttributeValue>;

/** The source's config as stored: everything but `enabled`, which lives apart for atomic enable/disable. */
function storedConfigJson(config: SourceConfig): string {
  const { enabled: _enabled, ...rest } = config;
  return JSON.stringify(rest);
}

/** The attributes a put writes (all but id, version, updatedAt). */
export function itemAttributes(registration: { config: SourceConfig; credentials: SourceCredentialsRef }, origin: SourceOrigin): Item {
  const credentials: Item =
    registration.credentials.kind === 'secret'
      ? { kind: { S: 'secret' }, secretName: { S: registration.credentials.secretName } }
      : { kind: { S: 'app-install' }, memberId: { S: registration.credentials.memberId } };
  return {
    config: { S: storedConfigJson(registration.config) },
    enabled: { BOOL: registration.config.enabled },
    portal: { S: registration.config.portal },
    kind: { S: registration.config.kind },
    credentials: { M: credentials },
    origin: { S: origin },
  };
}

function credentialsOf(sourceId: string, value: AttributeValue | undefined): SourceCredentialsRef {
  const map = value?.M;
  if (map?.kind?.S === 'secret' && map.secretName?.S !== undefined) return { kind: 'secret', secretName: map.secretName.S };
  if (map?.kind?.S === 'app-install' && map.memberId?.S !== undefined) return { kind: 'app-install', memberId: map.memberId.S };
  throw new CorruptRegistryItemError(sourceId, 'credentials is not a secret or app-install reference');
}

/** Reads a stored item back into a RegisteredSource, validating it like a new registration. */
export function sourceFromItem(item: Item): RegisteredSource {
  const sourceId = item.id?.S ?? '(no id)';
  const version = Number(item.version?.N);
  const updatedAt = item.updatedAt?.S;
  const origin = item.origin?.S as SourceOrigin | undefined;
  if (!Number.isInteger(version) || version < 1) throw new CorruptRegistryItemError(sourceId, 'version is not a positive integer');
  if (updatedAt === undefined) throw new CorruptRegistryItemError(sourceId, 'updatedAt is missing');
  if (origin === undefined || !ORIGINS.includes(origin)) throw new CorruptRegistryItemError(sourceId, 'origin is missing or unknown');
  let stored: unknown;
  try {
    stored = JSON.parse(item.config?.S ?? '');
  } catch (error) {
    throw new CorruptRegistryItemError(sourceId, 'config is not JSON', { cause: error });
  }
  if (typeof stored !== 'object' || stored === null) throw new CorruptRegistryItemError(sourceId, 'config is not an object');
  let registration: { config: SourceConfig; credentials: SourceCredentialsRef };
  try {
    registration = validateRegistration({ ...stored, enabled: item.enabled?.BOOL ?? true }, credentialsOf(sourceId, item.credentials), origin);
  } catch (error) {
    if (error instanceof InvalidSourceError) throw new CorruptRegistryItemError(sourceId, error.message, { cause: error });
    throw error;
  }
  if (registration.config.id !== sourceId) throw new CorruptRegistryItemError(sourceId, `config.id is "${registration.config.id}"`);
  return { ...registration, origin, version, updatedAt };
}

/** Whether a stored source is exactly what a writer put (a retried write whose first attempt landed). */
export function sameRegistration(stored: RegisteredSource, registration: { config: SourceConfig; credentials: SourceCredentialsRef }, origin: SourceOrigin): boolean {
  return (
    stored.origin === origin &&
    JSON.stringify(stored.config) === JSON.stringify(registration.config) &&
    JSON.stringify(stored.credentials) === JSON.stringify(registration.credentials)
  );
}
