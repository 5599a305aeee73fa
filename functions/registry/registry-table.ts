// The registry table: one item per source, partition key `id` (the source id).
// A table of its own rather than items in the state table, for three reasons:
//  - least privilege: consumers and poller shards get read-only IAM on it
//    (GetItem, Scan), only the CLI (operator credentials) and the install
//    endpoint write it, while the state table is written by every poller;
//  - listing is one Scan of the sources alone (1000 sources ≈ 0.4 MB, one or
//    two pages, ≈ 50–100 read units), not a scan of every lease/token item;
//  - its lifecycle is the operator's (PITR, retained), not the pollers'.
//
// Item layout (every attribute written by both adapters through registry-item.ts):
//   id          S  source id
//   config      S  JSON of the validated SourceConfig without `enabled`
//   enabled     BOOL  kept apart so enable/disable is one atomic update
//   portal      S  portal host (for grouping sources per portal without parsing)
//   kind        S  user | bot
//   credentials M  { kind: secret, secretName } | { kind: app-install, memberId }
//   origin      S  config | cli | install
//   version     N  1 on creation, +1 on every change (conditional writes)
//   updatedAt   S  ISO 8601 UTC

export const REGISTRY_TABLE = {
  partitionKey: 'id',
} as const;

export function registryTableName(prefix: string): string {
  return `${prefix}-sources`;
}
