// Part: one Secrets Manager secret per source with its Bitrix24 credentials
// (webhook URL, OAuth client, bot token), created with a placeholder value or
// imported by name.
import type { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { type SourceConfig, secretNameOf } from '../../functions/shared/config.js';
import { acknowledge } from './pipeline-function.js';

export interface SourceSecretsProps {
  /** Resource name prefix: a secret is named `<prefix>/sources/<id>` unless the source sets `secretName`. */
  readonly prefix: string;
  /** Every configured source, disabled ones included (their secret stays). */
  readonly sources: readonly SourceConfig[];
  /** `create`: each secret is created with a random placeholder; `import`: the secrets already exist under their names. @default "create" */
  readonly mode?: 'create' | 'import';
  /** Key of created secrets. */
  readonly encryptionKey: kms.IKey;
  /** What happens to created secrets when they leave the stack. */
  readonly removalPolicy: RemovalPolicy;
}

/** Source id → its credentials secret. Resources are created in `scope` (see PipelineEncryptionKey). */
export class SourceSecrets extends Construct {
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;

  constructor(scope: Construct, id: string, props: SourceSecretsProps) {
    super(scope, id);
    const secrets = new Map<string, secretsmanager.ISecret>();
    for (const source of props.sources) {
      const secretName = secretNameOf(props.prefix, source);
      const secret =
        props.mode === 'import'
          ? secretsmanager.Secret.fromSecretNameV2(scope, `Secret-${source.id}`, secretName)
          : new secretsmanager.Secret(scope, `Secret-${source.id}`, {
              secretName,
              description: `Bitrix24 ${source.auth} credentials of source "${source.id}" (${source.portal}). Replace the generated placeholder with the JSON described in the README.`,
              encryptionKey: props.encryptionKey,
              // A random placeholder, so that no value ever appears in the template;
              // CloudFormation never overwrites the value you put in later.
              generateSecretString: { secretStringTemplate: JSON.stringify({ placeholder: true }), generateStringKey: 'replaceMe', excludePunctuation: true, passwordLength: 16 },
              removalPolicy: props.removalPolicy,
            });
      if (secret instanceof secretsmanager.Secret) {
        acknowledge(secret, {
          id: 'AwsSolutions-SMG4',
          reason:
            'Bitrix24 webhook codes and OAuth client secrets are issued by the portal and cannot be rotated by a Secrets Manager rotation Lambda; OAuth access/refresh tokens rotate on their own and are kept in the encrypted state table.',
        });
      }
      secrets.set(source.id, secret);
    }
    this.secrets = secrets;
  }
}
