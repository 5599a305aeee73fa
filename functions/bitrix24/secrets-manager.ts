// The two Secrets Manager names the secret reader uses. secret-reader.ts
// imports this module dynamically on the first read, so the client is
// evaluated only then; importing just these names (not the SDK module's
// namespace) keeps the other Secrets Manager commands out of the bundle.
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
