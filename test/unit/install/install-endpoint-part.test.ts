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
    const installFunction = resourcesOf('AWS::Lambda::Function').find(([, fn]) => JSON.stringify(fn.Properties.Environment).includes('INSTALL_BOT_CODE'));
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

  it('lets the poller and every consumer reach the installed sources: APP_SECRET_NAME, the app secret, and (consumers) app-install#* items limited to GetItem and a token-attribute UpdateItem', () => {
    const functions = resourcesOf('AWS::Lambda::Function');
    const appSecretName = `${pipeline.prefix}/app`; // the default: <prefix>/app
    const variablesOf = (fn: Resource) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const poller = functions.find(([id]) => id.startsWith('PipelinePoller'));
    const consumers = functions.filter(([id]) => id.startsWith('PipelineConsumer'));
    expect(poller).toBeDefined();
    expect(consumers.length).toBeGreaterThan(0);
    for (const [, fn] of [...consumers, ...(poller === undefined ? [] : [poller])]) expect(variablesOf(fn).APP_SECRET_NAME).toBe(appSecretName);

    const policyOf = (functionId: string) => {
      const roleRef = JSON.stringify((json.Resources[functionId]?.Properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]);
      return resourcesOf('AWS::IAM::Policy')
        .filter(([, policy]) => JSON.stringify(policy.Properties.Roles).includes(roleRef))
        .flatMap(([, policy]) => (policy.Properties.PolicyDocument as { Statement: { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[] }).Statement);
    };
    const appSecret = resourcesOf('AWS::SecretsManager::Secret').find(([, secret]) => secret.Properties.Name === appSecretName);
    expect(appSecret).toBeDefined();
    const readsAppSecret = (statements: ReturnType<typeof policyOf>) =>
      statements.some((s) => JSON.stringify(s.Resource) === JSON.stringify({ Ref: appSecret?.[0] }) && JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(readsAppSecret(policyOf(poller?.[0] ?? ''))).toBe(true);
    for (const [id] of consumers) {
      const statements = policyOf(id);
      expect(readsAppSecret(statements)).toBe(true);
      expect(statements.find((s) => s.Sid === 'ReadInstallRecords')).toMatchObject({
        Action: 'dynamodb:GetItem',
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['app-install#*'] } },
      });
      expect(statements.find((s) => s.Sid === 'RenewInstallTokenChains')).toMatchObject({
        Action: 'dynamodb:UpdateItem',
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['app-install#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'accessToken', 'refreshToken', 'accessTokenExpiresAt', 'updatedAt'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
        },
      });
      // No PutItem or DeleteItem on install items: a consumer cannot create, rewrite or remove an install.
      const onInstallItems = statements.filter((s) => JSON.stringify(s.Condition ?? {}).includes('app-install#'));
      expect(onInstallItems.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    }
  });

  it('is absent unless install.enabled', () => {
    const built = createPipelineApp(fixtureAppOptions({ pipeline: { ...pipeline, install: { enabled: false } } }));
    expect(built.stack.pipeline.parts.installEndpoint).toBeUndefined();
    const template = JSON.stringify(built.app.synth().getStackArtifact(built.stack.artifactId).template);
    expect(template).not.toContain('APP_SECRET_NAME');
    expect(template).not.toContain('app-install#');
  });
});
