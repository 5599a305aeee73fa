// Part: where the sources' credentials live, as IAM sees them. Each source has
// a Secrets Manager secret (webhook URL, OAuth client, bot token), created at
// run time — by the CLI (`sources add`), the install flow, or the registry
// seed for configured sources — never one resource per source in the stack.
// Access is granted on the name prefix `<prefix>/sources/*` (plus the few
// configured sources whose `secretName` lies outside it), so a source added
// at run time needs no deploy.
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { type SourceConfig, secretNameOf } from '../../functions/shared/config.js';
import { acknowledge } from './pipeline-function.js';

/** The secret name prefix of run-time sources: `<prefix>/sources/`. */
export function sourceSecretNamePrefix(prefix: string): string {
  return `${prefix}/sources/`;
}

/** The sources' secrets by name pattern (no resources). */
export class SecretNames {
  readonly #scope: Construct;
  readonly #prefix: string;

  constructor(scope: Construct, prefix: string) {
    this.#scope = scope;
    this.#prefix = prefix;
  }

  /** `<prefix>/sources/` */
  get namePrefix(): string {
    return sourceSecretNamePrefix(this.#prefix);
  }

  /** Configured secret names outside the prefix (each its own ARN pattern), sorted and unique. */
  #namesOutsidePrefix(sources: readonly SourceConfig[]): string[] {
    return [...new Set(sources.map((s) => secretNameOf(this.#prefix, s)).filter((name) => !name.startsWith(this.namePrefix)))].sort();
  }

  /** ARN patterns: every secret under the prefix, and each configured name outside it (`-??????`: Secrets Manager's suffix). */
  arnPatterns(sources: readonly SourceConfig[]): string[] {
    const stack = Stack.of(this.#scope);
    const arn = (pattern: string): string => stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: pattern, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    return [arn(`${this.namePrefix}*`), ...this.#namesOutsidePrefix(sources).map((name) => arn(`${name}-??????`))];
  }

  /** Lets `role` read the credentials of every source (GetSecretValue; the SecretReader also describes for versions). */
  grantRead(role: iam.IRole, sources: readonly SourceConfig[], sid: string): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid, actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], resources: this.arnPatterns(sources) }),
    );
  }

  /** cdk-nag's finding for the prefix wildcard in `role`'s policy. */
  acknowledgeWildcard(role: iam.IRole, why: string): void {
    acknowledge(role, {
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${this.namePrefix}*]`,
      reason: `Secrets under the pipeline's name prefix ${this.namePrefix} only: ${why}.`,
    });
  }

  /** References (no resources) to the configured sources' secrets, by source id, for the construct's public API. */
  references(sources: readonly SourceConfig[]): ReadonlyMap<string, secretsmanager.ISecret> {
    return new Map(sources.map((source) => [source.id, secretsmanager.Secret.fromSecretNameV2(this.#scope, `Secret-${source.id}`, secretNameOf(this.#prefix, source))]));
  }
}
