// The AWS SDK's credential chain for the Lambda bundles: the environment only.
// Lambda hands a function its role's credentials in AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, so the SDK's default chain
// (@aws-sdk/credential-provider-node: environment, SSO, INI files, process,
// web identity, container and instance metadata) ends at its first link there.
// The other links cost ~100 KB of every bundle (SSO/STS/sign-in clients among
// them) and never run. LAMBDA_BUNDLING (lib/parts/pipeline-function.ts) makes
// esbuild resolve `@aws-sdk/credential-provider-node` to this module; nothing
// else imports it, so local runs, tests and the CLI keep the full chain.
import { fromEnv } from '@aws-sdk/credential-provider-env';

type FromEnvInit = Parameters<typeof fromEnv>[0];

/** Same signature as the SDK's `defaultProvider`; throws CredentialsProviderError when the variables are missing. */
export const defaultProvider = (init: FromEnvInit = {}): ReturnType<typeof fromEnv> => fromEnv(init);
