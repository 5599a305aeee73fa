// Part: seeds the CDK config's sources into the source registry at deploy
// (functions/registry/registry-seed.ts) with one custom resource whatever the
// number of sources: a small function answers CloudFormation itself, the
// sources travel gzip+base64 in the resource's properties. It also creates the
// config sources' placeholder secrets (secrets "create"), which the stack no
// longer declares one by one.
import { CustomResource } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type RegistrySeedProperties, encodeSeedSources } from '../../functions/registry/registry-seed.js';
import { type SourceConfig } from '../../functions/shared/config.js';
import { ENV } from '../../functions/shared/observability.js';
import { grantKeyUse, pipelineFunction, roleOf } from './pipeline-function.js';
import type { SecretNames } from './source-secrets.js';

export interface RegistrySeedProps {
  readonly prefix: string;
  /** The seed function's module and exported handler. */
  readonly entry: string;
  readonly handler: string;
  /** The config's sources (every one, disabled included). */
  readonly sources: readonly SourceConfig[];
  readonly registryTable: dynamodb.ITable;
  /** `create`: create missing placeholder secrets; `import`: they exist. */
  readonly secrets: 'create' | 'import';
  readonly secretNames: SecretNames;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
}

/** The seed function and its custom resource. Resources are created in `scope` (see PipelineEncryptionKey). */
export class RegistrySeed extends Construct {
  readonly function: NodejsFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: RegistrySeedProps) {
    super(scope, id);
    this.function = pipelineFunction(scope, 'RegistrySeedFunction', {
      description: `b24-event-pipeline ${props.prefix}: seeds the configured sources into the source registry at deploy`,
      entry: props.entry,
      handler: props.handler,
      timeoutSeconds: 300,
      memorySize: 256,
      logRetention: props.logRetention,
      environment: { [ENV.registryTableName]: props.registryTable.tableName, ENCRYPTION_KEY_ID: props.encryptionKey.keyArn },
    });
    const role = roleOf(this.function);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SeedRegistry',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],
        resources: [props.registryTable.tableArn],
      }),
    );
    if (props.secrets === 'create') {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'CreatePlaceholderSecrets', actions: ['secretsmanager:CreateSecret'], resources: props.secretNames.arnPatterns(props.sources) }),
      );
    }
    grantKeyUse(props.encryptionKey, role);
    props.secretNames.acknowledgeWildcard(role, 'the seed creates the placeholder secret of each configured source under the pipeline\'s secret name prefix');
    const properties: RegistrySeedProperties = {
      Prefix: props.prefix,
      Secrets: props.secrets,
      SourcesGzipBase64: encodeSeedSources(props.sources),
      SourceCount: String(props.sources.length),
    };
    this.resource = new CustomResource(scope, 'RegistrySeedResource', {
      serviceToken: this.function.functionArn,
      resourceType: 'Custom::B24SourceRegistrySeed',
      properties: { ...properties },
    });
    // The seed writes the table and (create mode) the secrets with the key: its policy must exist first.
    this.resource.node.addDependency(role);
  }
}
