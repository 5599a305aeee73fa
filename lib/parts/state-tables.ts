// Part: the state table (per source: lease, committed offset, OAuth tokens),
// the consumers' idempotency table and the source registry (issue 13). Keys and TTL attributes come from
// functions/shared/topology.ts, the same definitions the local rig provisions.
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { REGISTRY_TABLE, registryTableName } from '../../functions/registry/registry-table.js';
import { IDEMPOTENCY_TABLE, STATE_TABLE, idempotencyTableName, stateTableName } from '../../functions/shared/topology.js';

export interface StateTablesProps {
  /** Resource name prefix: tables are named `<prefix>-…` (topology.ts). */
  readonly prefix: string;
  /** Key of created tables (customer-managed encryption). */
  readonly encryptionKey: kms.IKey;
  /** What happens to created tables when they leave the stack; RETAIN also turns deletion protection on. */
  readonly removalPolicy: RemovalPolicy;
  /** Your own state table: partition key `pk` (string), TTL attribute `expiresAt`, encrypted with `encryptionKey`. @default a new table */
  readonly existingStateTable?: dynamodb.ITable;
  /** Your own idempotency table: partition key `id` (string), TTL attribute `expiration`, encrypted with `encryptionKey`. @default a new table */
  readonly existingIdempotencyTable?: dynamodb.ITable;
  /** Your own source registry: partition key `id` (string), encrypted with `encryptionKey`. @default a new table `<prefix>-sources` */
  readonly existingRegistryTable?: dynamodb.ITable;
}

/** The three DynamoDB tables: on demand, PITR, TTL, customer-managed KMS. Resources are created in `scope` (see PipelineEncryptionKey). */
export class StateTables extends Construct {
  readonly stateTable: dynamodb.ITable;
  readonly idempotencyTable: dynamodb.ITable;
  /** The source registry (functions/registry/registry-table.ts): one item per source, read by the poller and consumers, written by the CLI and the seed. */
  readonly registryTable: dynamodb.ITable;

  constructor(scope: Construct, id: string, props: StateTablesProps) {
    super(scope, id);
    const table = (tableId: string, tableName: string, partitionKey: string, ttl: string | undefined): dynamodb.Table =>
      new dynamodb.Table(scope, tableId, {
        tableName,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        ...(ttl === undefined ? {} : { timeToLiveAttribute: ttl }),
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: props.encryptionKey,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
        removalPolicy: props.removalPolicy,
      });
    this.stateTable = props.existingStateTable ?? table('StateTable', stateTableName(props.prefix), STATE_TABLE.partitionKey, STATE_TABLE.timeToLiveAttribute);
    this.idempotencyTable =
      props.existingIdempotencyTable ?? table('IdempotencyTable', idempotencyTableName(props.prefix), IDEMPOTENCY_TABLE.partitionKey, IDEMPOTENCY_TABLE.timeToLiveAttribute);
    this.registryTable = props.existingRegistryTable ?? table('RegistryTable', registryTableName(props.prefix), REGISTRY_TABLE.partitionKey, undefined);
  }
}
