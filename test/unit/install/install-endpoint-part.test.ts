// The install endpoint part in the synthesized stack (config install.enabled):
// a function URL with auth NONE, least-privilege IAM (app-install#* items of the
// state table only, the registry's items, the app secret), cdk-nag clean (the
// app's synth throws on an unacknowledged finding), and the part absent by default.
import { beforeAll, describe, expect, it } from 'vitest';
import { createPipelineApp } from '../../../lib/app.js';
import { fixtureAppOptions, pipeline } from '../../infrastructure/fixtures/stack-fixture.js';

type Resource = { Type: string; Properties: Record<string, unknown> };
let json: { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown; Description?: string }> };

beforeAll(() => {
  const built = createPipelineApp(fixtureAppOptions({ pipeline: { ...pipeline, install: { enabled: true, botCode: 'support_bot', subscribeUserEvents: true } } }));
  json = built.app.synth().getStackArtifact(built.stack.artifactId).template as typeof json;
}, 180_000);

const resourcesOf = (type: string): [string, Resource][] => Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);

describe('InstallEndpoint part', () => {
  it('exposes one function URL with auth NONE, and its URL as the one install output', () => {
    const urls = resourcesOf('AWS::Lambda::Url');
    expect(urls).toHaveLength(1);
    expect(urls[0]?.[1].Properties.AuthType).toBe('NONE');
    expect(Object.entries(json.Outputs).filter(([id]) => id.includes('InstallUrl'))).toHaveLength(1);
  });

  it('gives the install function the state table\'s app-install#* items, the registry\'s items and the app secret, nothing more', () => {
    const installFunction = resourcesOf('AWS::Lambda::Function').find(([, fn]) => JSON.stringify(fn.Properties.Environment).includes('APP_SECRET_NAME'));
    expect(installFunction).toBeDefined();
    const environment = JSON.stringify((installFunction?.[1].Properties.Environment as { Variables: unknown }).Variables);
    expect(environment.length).toBeLessThan(1024);
    expect(environment).toContain('"INSTALL_BOT_CODE":"support_bot"');
    const installPolicies = resourcesOf('AWS::IAM::Policy').filter(([, policy]) => JSON.stringify(policy.Properties.PolicyDocument).includes('AppInstallRecords'));
    const statements = installPolicies.flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: { Sid?: string; Action: string | string[]; Condition?: unknown }[] }).Statement);
    expect(statements.find((s) => s.Sid === 'AppInstallRecords')).toMatchObject({
      Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], // CDK sorts them
      Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['app-install#*'] } },
    });
    expect(statements.find((s) => s.Sid === 'RegistrySourcesOfInstalls')).toMatchObject({ Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'] });
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((action) => action.startsWith('dynamodb:Scan') || action === 'dynamodb:*' || action.startsWith('sqs:'))).toEqual([]);
  });

  it('is absent unless install.enabled', () => {
    const built = createPipelineApp(fixtureAppOptions({ pipeline: { ...pipeline, install: { enabled: false } } }));
    expect(built.stack.pipeline.parts.installEndpoint).toBeUndefined();
  });
});
