// Part (optional, config `install.enabled`): the Marketplace install endpoint —
// a Lambda with a function URL that Bitrix24 POSTs ONAPPINSTALL and
// ONAPPUNINSTALL to (functions/install, docs/install.md).
//
// The URL's auth type is NONE because Bitrix24 calls it without AWS
// credentials; the request is authenticated by the app itself: a first
// install only when the OAuth server renews its refresh token for this app's
// client secret and answers the same member_id, every later event only when
// its application_token matches the hash stored at install. Anything else is
// refused before a write.
//
// Least privilege: the state table's `app-install#*` items only (no lease,
// offset or source token item), the registry table's items (read, write,
// enable/disable; no Scan, no delete), the one app secret, the key.
//
// The sources an install adds are polled and served by the pipeline's own
// functions (functions/install/install-credentials.ts): `grantInstalledSources`
// gives the poller and each consumer APP_SECRET_NAME and read on the app
// secret; a consumer, which otherwise reaches only `oauth#*` and `budget#*`
// items, also gets GetItem on `app-install#*` (the record and its chain) and an
// UpdateItem there limited to the token attributes (a renewal's save).
import { CfnOutput } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { UNSEEDED_TOKEN_ATTRIBUTES } from '../../functions/bitrix24/dynamodb-token-store.js';
import { ENV } from '../../functions/shared/observability.js';
import { INSTALL_ENV } from '../../functions/install/environment.js';
import { defaultAppSecretName } from '../../functions/install/install-credentials.js';
import { APP_INSTALL_KEY_PREFIX } from '../../functions/install/install-store.js';
import { STATE_TABLE } from '../../functions/shared/topology.js';
import type { InstallConfig } from '../../functions/shared/config.js';
import { acknowledge, grantKeyUse, pipelineFunction, roleOf } from './pipeline-function.js';

export interface InstallEndpointProps {
  readonly prefix: string;
  /** The install function's entry (functions/install/handler). */
  readonly entry: string;
  readonly handler: string;
  readonly install: InstallConfig;
  /** The pipeline's state table: install records live in its `app-install#<memberId>` items. */
  readonly stateTable: dynamodb.ITable;
  /** The source registry's table (the install adds and disables the sources of a portal). */
  readonly registryTable: dynamodb.ITable;
  readonly encryptionKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class InstallEndpoint extends Construct {
  readonly function: NodejsFunction;
  readonly functionUrl: lambda.FunctionUrl;
  /** The app secret: put {"clientId", "clientSecret"} of the app card in it. */
  readonly appSecret: secretsmanager.ISecret;
  readonly #appSecretName: string;
  readonly #stateTable: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: InstallEndpointProps) {
    super(scope, id);
    const appSecretName = props.install.appSecretName ?? defaultAppSecretName(props.prefix);
    const appSecret = new secretsmanager.Secret(this, 'AppSecret', {
      secretName: appSecretName,
      description: 'Client id and secret of the Bitrix24 app (Marketplace or local app card): {"clientId": "…", "clientSecret": "…"}. Replace the generated placeholder.',
      encryptionKey: props.encryptionKey,
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
      removalPolicy: props.removalPolicy,
    });
    acknowledge(appSecret, { id: 'AwsSolutions-SMG4', reason: 'The app\'s client secret is issued by Bitrix24 (the app card); Secrets Manager cannot rotate it.' });
    const { install } = props;
    const fn = pipelineFunction(this, 'Function', {
      description: 'Bitrix24 app install endpoint: ONAPPINSTALL / ONAPPUNINSTALL (function URL)',
      entry: props.entry,
      handler: props.handler,
      timeoutSeconds: 30,
      memorySize: 256,
      logRetention: props.logRetention,
      environment: {
        [INSTALL_ENV.stateTableName]: props.stateTable.tableName,
        [INSTALL_ENV.registryTableName]: props.registryTable.tableName,
        [INSTALL_ENV.appSecretName]: appSecretName,
        [INSTALL_ENV.subscribeUserEvents]: String(install.subscribeUserEvents),
        ...(install.botCode === undefined ? {} : { [INSTALL_ENV.botCode]: install.botCode }),
        ...(install.botName === undefined ? {} : { [INSTALL_ENV.botName]: install.botName }),
        ...(install.botType === undefined ? {} : { [INSTALL_ENV.botType]: install.botType }),
      },
    });
    const role = roleOf(fn);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'AppInstallRecords',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [props.stateTable.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${APP_INSTALL_KEY_PREFIX}*`] } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RegistrySourcesOfInstalls',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [props.registryTable.tableArn],
      }),
    );
    appSecret.grantRead(role);
    grantKeyUse(props.encryptionKey, role);
    // Bitrix24 posts without AWS credentials: the application_token / OAuth-server check is the authentication (above).
    const functionUrl = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    new CfnOutput(this, 'InstallUrl', {
      description: 'Put this URL in the app card ("Event installation handler URL" / "Initial installation path"); docs/install.md.',
      value: functionUrl.url,
    });
    this.function = fn;
    this.functionUrl = functionUrl;
    this.appSecret = appSecret;
    this.#appSecretName = appSecretName;
    this.#stateTable = props.stateTable;
  }

  /**
   * Lets `fn` call Bitrix24 as the installed sources: APP_SECRET_NAME and read on the app secret. `consumer`
   * also gets the install items it cannot reach otherwise: GetItem on `app-install#*`, and UpdateItem there
   * only on the token attributes (DynamoDbTokenStore's conditional save; no ALL_OLD/ALL_NEW answer, which would
   * return the other attributes). The poller's role already reads and writes its state table's items.
   */
  grantInstalledSources(fn: NodejsFunction, role: 'poller' | 'consumer'): void {
    fn.addEnvironment(ENV.appSecretName, this.#appSecretName);
    const grantee = roleOf(fn);
    this.appSecret.grantRead(grantee);
    if (role === 'poller') return;
    const installItems = { 'dynamodb:LeadingKeys': [`${APP_INSTALL_KEY_PREFIX}*`] };
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadInstallRecords',
        actions: ['dynamodb:GetItem'],
        resources: [this.#stateTable.tableArn],
        conditions: { 'ForAllValues:StringLike': installItems },
      }),
    );
    grantee.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RenewInstallTokenChains',
        actions: ['dynamodb:UpdateItem'],
        resources: [this.#stateTable.tableArn],
        conditions: {
          'ForAllValues:StringLike': installItems,
          // The partition key must be listed too (DynamoDB developer guide, specifying-conditions: dynamodb:Attributes).
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [STATE_TABLE.partitionKey, ...UNSEEDED_TOKEN_ATTRIBUTES] },
          'StringEqualsIfExists': { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
        },
      }),
    );
  }
}
