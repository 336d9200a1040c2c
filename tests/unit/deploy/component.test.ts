import * as path from 'node:path';
import { expect } from 'chai';
import { buildHandlerBundle, HandlerBundle } from '../../../components/bundle';
import { ConfigError, TableConfig, validateConfig } from '../../../components/config';
import {
  ContinuousExport,
  CONTINUOUS_EXPORT_TYPE,
  schedulePeriodMinutes,
} from '../../../components/continuousExport';
import { LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME } from '../../../components/lambdaFunction';
import { chainLagAlarmSettings } from '../../../components/monitoring';
import { componentName, NAME_LIMITS, physicalNames } from '../../../components/names';
import { FAILURE_FILTER, SUCCESS_FILTER } from '../../../components/notifications';
import { rateExpression, SCHEDULE_RETRY_POLICY } from '../../../components/schedule';
import { bucketLocationSchema, STACK_OUTPUTS, tableOutputSchema } from '../../../components/stackOutput';
import { parseStackOutput } from '../../../cli/target';
import { LAMBDA_HANDLERS } from '../../../functions/shared/lambdaHandlers';
import { emfRecord } from '../../../functions/shared/emf';
import { METRICS } from '../../../functions/shared/metrics';
import { fromEnvironment } from '../../../functions/chain/settings';
import { initialStateJson } from '../../../functions/chain/state';
import {
  ACCOUNT_ID,
  installMocks,
  withPlainStacks,
  ofType,
  policyOf,
  PROJECT,
  ProgramRun,
  readStackConfigFile,
  RecordedResource,
  REGION,
  resolve,
  runProgram,
  settle,
} from '../../helpers/pulumiMocks';
import { REPO_ROOT } from '../../helpers/repoRoot';

// asl-validator ships no type declarations and mutates its argument.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

const STACK = 'dev';
const T = {
  component: CONTINUOUS_EXPORT_TYPE,
  bucket: 'aws:s3/bucket:Bucket',
  encryption: 'aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration',
  publicAccess: 'aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock',
  bucketPolicy: 'aws:s3/bucketPolicy:BucketPolicy',
  versioning: 'aws:s3/bucketVersioning:BucketVersioning',
  topic: 'aws:sns/topic:Topic',
  topicPolicy: 'aws:sns/topicPolicy:TopicPolicy',
  subscription: 'aws:sns/topicSubscription:TopicSubscription',
  fn: 'aws:lambda/function:Function',
  logGroup: 'aws:cloudwatch/logGroup:LogGroup',
  role: 'aws:iam/role:Role',
  rolePolicy: 'aws:iam/rolePolicy:RolePolicy',
  stateMachine: 'aws:sfn/stateMachine:StateMachine',
  schedule: 'aws:scheduler/schedule:Schedule',
  parameter: 'aws:ssm/parameter:Parameter',
  alarm: 'aws:cloudwatch/metricAlarm:MetricAlarm',
  dashboard: 'aws:cloudwatch/dashboard:Dashboard',
  kmsKey: 'aws:kms/key:Key',
};

/** The AWS name limit that applies to each resource type with a physical name. */
const LIMIT_BY_TYPE: Record<string, number> = {
  [T.fn]: NAME_LIMITS.lambdaFunction,
  [T.role]: NAME_LIMITS.iamRole,
  [T.stateMachine]: NAME_LIMITS.stateMachine,
  [T.schedule]: NAME_LIMITS.schedule,
  [T.topic]: NAME_LIMITS.snsTopic,
  [T.logGroup]: NAME_LIMITS.logGroup,
  [T.alarm]: NAME_LIMITS.alarm,
  [T.dashboard]: NAME_LIMITS.dashboard,
  [T.bucket]: NAME_LIMITS.s3Bucket,
  [T.parameter]: NAME_LIMITS.ssmParameter,
  [T.rolePolicy]: 128,
};

/** Resources that belong to the component with this name (children carry its name as prefix). */
function childrenOf(run: ProgramRun, name: string): RecordedResource[] {
  return run.resources.filter((r) => r.type !== T.component && r.name.startsWith(`${name}-`));
}

/** Whether `r` is registered with an explicit dependency on `on` (dependsOn, not just an input). */
function dependsOn(r: RecordedResource, on: RecordedResource): boolean {
  return r.options.dependencies.some((urn) => urn.endsWith(`::${on.name}`));
}

function one(resources: RecordedResource[], type: string): RecordedResource {
  const found = ofType(resources, type);
  expect(found, type).to.have.length(1);
  return found[0];
}

describe('Pulumi program with the example stack (Pulumi.dev.yaml)', () => {
  let run: ProgramRun;
  let tables: TableConfig[];
  const byAlias = (alias: string) => childrenOf(run, componentName(STACK, alias));

  before(async () => {
    const config = readStackConfigFile(path.resolve(REPO_ROOT, 'Pulumi.dev.yaml'));
    tables = validateConfig(
      { tables: config[`${PROJECT}:tables`], defaults: config[`${PROJECT}:defaults`] },
      STACK,
    );
    run = await runProgram(config, STACK);
  });

  it('the example stack has two tables, one with a created and one with an existing bucket', () => {
    expect(tables).to.have.length(2);
    expect(tables.filter((t) => t.bucket.existingName === undefined)).to.have.length(1);
  });

  it('registers exactly the expected resources for each table', () => {
    const handlers = LAMBDA_HANDLERS.length;
    const expected: Record<string, number> = {};
    const add = (type: string, n: number) => (expected[type] = (expected[type] ?? 0) + n);
    for (const t of tables) {
      const creates = t.bucket.existingName === undefined ? 1 : 0;
      add(T.component, 1);
      add(T.bucket, creates);
      add(T.encryption, creates);
      add(T.publicAccess, creates);
      add(T.bucketPolicy, creates);
      add(T.versioning, creates && t.bucket.versioning ? 1 : 0);
      add(T.topic, 2);
      // The key of the table's topics, unless the config names one.
      add(T.kmsKey, t.notificationKmsKeyArn === undefined ? 1 : 0);
      add(T.topicPolicy, 1);
      add(T.subscription, (t.notifyOnSuccess ? t.successEmails.length : 0) + 2 * t.failureEmails.length);
      add(T.fn, handlers);
      add(T.logGroup, handlers + 1);
      add(T.role, handlers + 2);
      add(T.rolePolicy, handlers + 2);
      add(T.stateMachine, 1);
      add(T.schedule, 1);
      add(T.parameter, 2);
      add(T.alarm, 3);
      add(T.dashboard, 1);
    }
    const actual: Record<string, number> = {};
    for (const r of run.resources) actual[r.type] = (actual[r.type] ?? 0) + 1;
    for (const [type, n] of Object.entries(expected)) if (n === 0) delete expected[type];
    expect(actual).to.deep.equal(expected);
  });

  it('names nothing twice, logically or physically', () => {
    const logical = run.resources.map((r) => `${r.type}::${r.name}`);
    expect(new Set(logical).size).to.equal(logical.length);
    const physical = run.resources
      .filter((r) => r.physicalName !== undefined && r.type !== T.rolePolicy)
      .map((r) => `${r.type}::${r.physicalName}`);
    expect(new Set(physical).size).to.equal(physical.length);
  });

  it('keeps every physical name within its AWS limit', () => {
    const named = run.resources.filter((r) => LIMIT_BY_TYPE[r.type] !== undefined);
    expect(named.length).to.be.greaterThan(20);
    for (const r of named) {
      expect(r.physicalName, `${r.type} ${r.name}`).to.be.a('string');
      expect(r.physicalName!.length, `${r.type} ${r.physicalName}`).to.be.at.most(LIMIT_BY_TYPE[r.type]);
    }
  });

  it('parents every resource to its table component', () => {
    for (const r of run.resources) {
      if (r.type === T.component) continue;
      expect(r.options.parentUrn, r.name).to.include(`${CONTINUOUS_EXPORT_TYPE}::`);
    }
  });

  it('derives physical names from the component name', () => {
    for (const t of tables) {
      const names = physicalNames(componentName(STACK, t.alias), STACK, t.alias);
      const mine = byAlias(t.alias);
      expect(one(mine, T.stateMachine).physicalName).to.equal(names.stateMachine);
      expect(one(mine, T.schedule).physicalName).to.equal(names.schedule);
      expect(one(mine, T.dashboard).physicalName).to.equal(names.dashboard);
      expect(ofType(mine, T.fn).map((f) => f.physicalName)).to.deep.equal(Object.values(names.functions));
    }
  });

  describe('config lands in resource inputs', () => {
    const envOf = (alias: string) => fromEnvironment(one(byAlias(alias), T.fn).inputs.environment.variables);

    it('windowMinutes: schedule rate and Lambda settings', () => {
      for (const t of tables) {
        const schedule = one(byAlias(t.alias), T.schedule);
        expect(schedule.inputs.scheduleExpression).to.equal(rateExpression(Math.min(t.windowMinutes, 60)));
        const env = envOf(t.alias);
        expect(env.windowMinutes).to.equal(t.windowMinutes);
        expect(env.schedulePeriodMinutes).to.equal(Math.min(t.windowMinutes, 60));
        expect(env.maxCatchUpWindowMinutes).to.equal(t.maxCatchUpWindowMinutes);
      }
      // The example overrides the window for one table only: the two rates differ.
      const rates = tables.map((t) => one(byAlias(t.alias), T.schedule).inputs.scheduleExpression);
      expect(new Set(rates).size).to.equal(2);
    });

    it('every workflow setting reaches the Lambda environment', () => {
      for (const t of tables) {
        const env = envOf(t.alias);
        expect(env.alias).to.equal(t.alias);
        expect(env.tableName).to.equal(t.tableName);
        expect(env.tableArn).to.equal(`arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/${t.tableName}`);
        expect(env.prefix).to.equal(t.bucket.prefix);
        expect(env.exportFormat).to.equal(t.exportFormat);
        expect(env.exportViewType).to.equal(t.exportViewType);
        expect(env.kmsKeyArn).to.equal(t.kmsKeyArn);
        expect(env.notifyOnSuccess).to.equal(t.notifyOnSuccess);
        expect(env.onPitrGap).to.equal(t.onPitrGap);
        expect(env.maxInFlight).to.equal(t.maxInFlight);
        expect(env.restorableMarginSeconds).to.equal(t.restorableMarginSeconds);
        expect(env.metricNamespace).to.equal('DynamoDBContinuousExports');
        const topic = ofType(byAlias(t.alias), T.topic).find((x) =>
          x.physicalName!.endsWith('-notifications'),
        )!;
        expect(env.notificationTopicArn).to.equal(
          `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${topic.physicalName}`,
        );
        expect(env.stateParameterName).to.equal(`/dynamodb-continuous-exports/${STACK}/${t.alias}/state`);
        expect(env.actionParameterName).to.equal(`/dynamodb-continuous-exports/${STACK}/${t.alias}/action`);
        expect(env.lockParameterName).to.equal(`/dynamodb-continuous-exports/${STACK}/${t.alias}/lock`);
      }
      // Defaults and overrides both show up: the two tables differ in these settings.
      expect(envOf(tables[0].alias).exportViewType).not.to.equal(envOf(tables[1].alias).exportViewType);
      expect(envOf(tables[0].alias).notifyOnSuccess).not.to.equal(envOf(tables[1].alias).notifyOnSuccess);
    });

    it('logRetentionDays: both log groups of a table', () => {
      for (const t of tables) {
        const groups = ofType(byAlias(t.alias), T.logGroup);
        expect(groups).to.have.length(LAMBDA_HANDLERS.length + 1);
        for (const g of groups) expect(g.inputs.retentionInDays).to.equal(t.logRetentionDays);
      }
      expect(tables[0].logRetentionDays).not.to.equal(tables[1].logRetentionDays);
    });

    it('notifyOnSuccess: success addresses are subscribed only when success is notified', () => {
      for (const t of tables) {
        const subs = ofType(byAlias(t.alias), T.subscription);
        const success = subs.filter((s) => s.inputs.filterPolicy === JSON.stringify(SUCCESS_FILTER));
        expect(success.map((s) => s.inputs.endpoint)).to.deep.equal(t.notifyOnSuccess ? t.successEmails : []);
      }
    });

    it('tags: every resource that takes tags carries the merged tags of its table', () => {
      for (const t of tables) {
        const tagged = byAlias(t.alias).filter((r) => r.inputs.tags !== undefined);
        expect(tagged.length).to.be.greaterThan(8);
        for (const r of tagged) expect(r.inputs.tags, `${r.type} ${r.name}`).to.deep.equal(t.tags);
      }
      expect(Object.keys(tables[1].tags).length).to.be.greaterThan(Object.keys(tables[0].tags).length);
    });

    it('bucket and prefix: a created bucket for one table, the existing one for the other', () => {
      const [created, existing] = [
        tables.find((t) => !t.bucket.existingName)!,
        tables.find((t) => t.bucket.existingName)!,
      ];
      expect(ofType(byAlias(existing.alias), T.bucket)).to.have.length(0);
      expect(envOf(existing.alias).bucket).to.equal(existing.bucket.existingName);
      expect(envOf(existing.alias).prefix).to.equal(existing.bucket.prefix);
      const bucket = one(byAlias(created.alias), T.bucket);
      expect(envOf(created.alias).bucket).to.equal(bucket.physicalName);
      expect(bucket.physicalName).to.include(ACCOUNT_ID);
    });
  });

  describe('created bucket', () => {
    const createdAlias = () => tables.find((t) => !t.bucket.existingName)!.alias;

    it('is kept on destroy, with its encryption, public access block and policy', () => {
      const mine = byAlias(createdAlias());
      for (const type of [T.bucket, T.encryption, T.publicAccess, T.bucketPolicy]) {
        expect(one(mine, type).options.retainOnDelete, type).to.equal(true);
      }
      expect(one(mine, T.bucket).inputs.forceDestroy).to.equal(false);
    });

    it('is encrypted, blocks public access and denies requests without TLS', () => {
      const mine = byAlias(createdAlias());
      const sse = one(mine, T.encryption).inputs.rules[0].applyServerSideEncryptionByDefault;
      expect(sse.sseAlgorithm).to.equal('AES256');
      expect(one(mine, T.publicAccess).inputs).to.include({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      const policy = policyOf(one(mine, T.bucketPolicy).inputs.policy);
      const bucket = one(mine, T.bucket).physicalName;
      const deny = policy.Statement.find((s: any) => s.Effect === 'Deny');
      expect(deny.Condition).to.deep.equal({ Bool: { 'aws:SecureTransport': 'false' } });
      expect(deny.Resource).to.have.members([`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`]);
      expect(policy.Statement.filter((s: any) => s.Effect === 'Allow')).to.have.length(0);
    });

    it('applies its policy only after the public access block', () => {
      // S3 evaluates a new bucket policy against the public access block in place; creating both at
      // once races. The TLS-only policy is not public, but ordering keeps that true for later edits.
      const mine = byAlias(createdAlias());
      expect(dependsOn(one(mine, T.bucketPolicy), one(mine, T.publicAccess))).to.equal(true);
    });
  });

  describe('creation order', () => {
    it('creates each consumer after the permissions and resources it needs on first use', () => {
      for (const t of tables) {
        const mine = byAlias(t.alias);
        const policies = ofType(mine, T.rolePolicy);
        const policyOfRole = (suffix: string) => policies.find((p) => p.name.endsWith(suffix))!;
        // Lambda: its policy before the first invocation, its log group before the runtime writes
        // (otherwise Lambda creates one without retention).
        for (const spec of LAMBDA_HANDLERS) {
          const fn = ofType(mine, T.fn).find((f) => f.name.endsWith(`-${spec.name}`))!;
          expect(dependsOn(fn, policyOfRole(`-${spec.name}-policy`)), spec.name).to.equal(true);
          const logGroup = ofType(mine, T.logGroup).find((g) => g.name.endsWith(`-${spec.name}-logs`))!;
          expect(dependsOn(fn, logGroup), spec.name).to.equal(true);
        }
        // Step Functions checks the role's log delivery permissions when the machine is created.
        expect(dependsOn(one(mine, T.stateMachine), policyOfRole('-states-policy'))).to.equal(true);
        // The first scheduled execution needs StartExecution and reads both parameters.
        const sched = one(mine, T.schedule);
        expect(dependsOn(sched, policyOfRole('-scheduler-policy'))).to.equal(true);
        for (const param of ofType(mine, T.parameter)) expect(dependsOn(sched, param)).to.equal(true);
        // A created bucket is fully configured (encryption, public access block, TLS-only policy)
        // before the first export writes to it.
        for (const type of [T.encryption, T.publicAccess, T.bucketPolicy, T.versioning]) {
          for (const r of ofType(mine, type)) expect(dependsOn(sched, r), type).to.equal(true);
        }
      }
    });
  });

  describe('notifications', () => {
    it('filters the notification topic on the message body and leaves the alarm topic unfiltered', () => {
      for (const t of tables) {
        const mine = byAlias(t.alias);
        const topics = ofType(mine, T.topic);
        const notificationArn = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${topics.find((x) => x.physicalName!.endsWith('-notifications'))!.physicalName}`;
        const alarmArn = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${topics.find((x) => x.physicalName!.endsWith('-alarms'))!.physicalName}`;
        const subs = ofType(mine, T.subscription);
        for (const s of subs) expect(s.inputs.protocol).to.equal('email');
        const failures = subs.filter((s) => s.inputs.filterPolicy === JSON.stringify(FAILURE_FILTER));
        expect(failures.map((s) => s.inputs.endpoint)).to.have.members(t.failureEmails);
        for (const s of [
          ...failures,
          ...subs.filter((x) => x.inputs.filterPolicy === JSON.stringify(SUCCESS_FILTER)),
        ]) {
          expect(s.inputs.topic).to.equal(notificationArn);
          expect(s.inputs.filterPolicyScope).to.equal('MessageBody');
        }
        const alarms = subs.filter((s) => s.inputs.topic === alarmArn);
        expect(alarms.map((s) => s.inputs.endpoint)).to.have.members(t.failureEmails);
        for (const s of alarms) expect(s.inputs.filterPolicy).to.equal(undefined);
        for (const a of ofType(mine, T.alarm)) {
          expect(a.inputs.alarmActions).to.deep.equal([alarmArn]);
        }
      }
    });
    it("lets CloudWatch publish to the alarm topic for this table's alarms only, and keeps the account's access", () => {
      for (const t of tables) {
        const mine = byAlias(t.alias);
        const topics = ofType(mine, T.topic);
        const alarmTopicArn = `arn:aws:sns:${REGION}:${ACCOUNT_ID}:${topics.find((x) => x.physicalName!.endsWith('-alarms'))!.physicalName}`;
        // Only the alarm topic has a policy: the notification topic's one publisher is the tick's role,
        // which its IAM policy already allows in the same account.
        const topicPolicy = one(mine, T.topicPolicy);
        expect(topicPolicy.inputs.arn).to.equal(alarmTopicArn);
        const doc = policyOf(topicPolicy.inputs.policy);
        const alarmArns = ofType(mine, T.alarm).map(
          (a) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT_ID}:alarm:${a.physicalName}`,
        );
        expect(alarmArns).to.have.length(3);
        const cloudwatch = doc.Statement.filter(
          (s: any) => s.Principal?.Service === 'cloudwatch.amazonaws.com',
        );
        expect(cloudwatch).to.have.length(1);
        expect(cloudwatch[0].Effect).to.equal('Allow');
        expect(cloudwatch[0].Action).to.deep.equal(['sns:Publish']);
        expect(cloudwatch[0].Resource).to.deep.equal([alarmTopicArn]);
        expect(cloudwatch[0].Condition.StringEquals).to.deep.equal({ 'aws:SourceAccount': ACCOUNT_ID });
        expect(cloudwatch[0].Condition.ArnLike['aws:SourceArn']).to.have.members(alarmArns);
        // The policy replaces the default one, so the owning account must keep managing the topic
        // (Pulumi updates and deletes it, email subscriptions are created on it).
        const owner = doc.Statement.filter(
          (s: any) => s.Principal?.AWS === `arn:aws:iam::${ACCOUNT_ID}:root`,
        );
        expect(owner).to.have.length(1);
        expect(owner[0].Resource).to.deep.equal([alarmTopicArn]);
        expect(owner[0].Action).to.include.members([
          'sns:Subscribe',
          'sns:SetTopicAttributes',
          'sns:GetTopicAttributes',
          'sns:DeleteTopic',
          'sns:Publish',
        ]);
        expect(doc.Statement).to.have.length(2);
        // The alarms are created after the policy, so their first state change can be delivered.
        for (const a of ofType(mine, T.alarm)) {
          expect(a.options.dependencies.some((urn) => urn.endsWith(`::${topicPolicy.name}`))).to.equal(true);
        }
      }
    });
  });

  describe('state machine', () => {
    it('is STANDARD, logs errors without execution data to its vended log group', () => {
      for (const t of tables) {
        const mine = byAlias(t.alias);
        const sm = one(mine, T.stateMachine);
        expect(sm.inputs.type).to.equal('STANDARD');
        const group = ofType(mine, T.logGroup).find((g) =>
          g.physicalName!.startsWith('/aws/vendedlogs/states/'),
        )!;
        expect(group.physicalName).to.equal(`/aws/vendedlogs/states/${sm.physicalName}`);
        expect(sm.inputs.loggingConfiguration).to.deep.equal({
          level: 'ERROR',
          includeExecutionData: false,
          logDestination: `arn:aws:logs:${REGION}:${ACCOUNT_ID}:log-group:${group.physicalName}:*`,
        });
      }
    });

    it("deploys a definition with no unresolved placeholder that passes asl-validator and invokes this table's function", () => {
      for (const t of tables) {
        const mine = byAlias(t.alias);
        const text: string = one(mine, T.stateMachine).inputs.definition;
        expect(text).not.to.match(/\$\{/);
        const result = aslValidator(JSON.parse(text));
        expect(result.errors).to.deep.equal([]);
        expect(result.isValid).to.equal(true);
        const fnArn = `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:${one(mine, T.fn).physicalName}`;
        const tasks = Object.values<any>(JSON.parse(text).States).filter((s) => s.Type === 'Task');
        expect(tasks.length).to.be.greaterThan(0);
        for (const task of tasks) expect(task.Parameters.FunctionName).to.equal(fnArn);
      }
    });
  });

  describe('Lambda function', () => {
    it('runs the bundle as index.handler on Node.js 22, arm64, with its own log group', async () => {
      for (const t of tables) {
        const mine = byAlias(t.alias);
        const fn = one(mine, T.fn);
        expect(fn.inputs.runtime).to.equal('nodejs22.x').and.to.equal(LAMBDA_RUNTIME);
        expect(fn.inputs.architectures).to.deep.equal(['arm64']).and.to.deep.equal([LAMBDA_ARCHITECTURE]);
        expect(fn.inputs.handler).to.equal('index.handler');
        expect(fn.inputs.loggingConfig.logGroup).to.equal(`/aws/lambda/${fn.physicalName}`);
        const assets = await fn.inputs.code.assets;
        expect(Object.keys(assets)).to.deep.equal(['index.js']);
        const spec = LAMBDA_HANDLERS[0];
        expect(fn.inputs.timeout).to.equal(spec.timeoutSeconds);
        expect(fn.inputs.memorySize).to.equal(spec.memorySizeMb);
      }
    });

    it('bundles deterministically, with the AWS SDK external and everything else inside', () => {
      const spec = LAMBDA_HANDLERS[0];
      // Two builds: bundleHandler would give the first one again.
      const a = buildHandlerBundle(spec.entry);
      const b = buildHandlerBundle(spec.entry);
      expect(a.code).to.equal(b.code);
      expect(a.sha256).to.equal(b.sha256);
      expect(a.code).to.match(/require\("@aws-sdk\/client-/);
      // zod is not in the Lambda runtime: no require of it may remain.
      expect(a.code).not.to.match(/require\("zod/);
      expect(a.code).not.to.include(REPO_ROOT);
    });
  });

  describe('schedule', () => {
    it("starts this table's state machine with the scheduled time, retries briefly, no flexible window", () => {
      for (const t of tables) {
        const mine = byAlias(t.alias);
        const schedule = one(mine, T.schedule);
        const sm = one(mine, T.stateMachine);
        expect(schedule.inputs.flexibleTimeWindow).to.deep.equal({ mode: 'OFF' });
        expect(schedule.inputs.target.arn).to.equal(
          `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${sm.physicalName}`,
        );
        expect(JSON.parse(schedule.inputs.target.input)).to.deep.equal({
          scheduledTime: '<aws.scheduler.scheduled-time>',
        });
        expect(schedule.inputs.target.retryPolicy).to.deep.equal(SCHEDULE_RETRY_POLICY);
        const role = ofType(mine, T.role).find((r) => r.physicalName!.endsWith('-scheduler'))!;
        expect(schedule.inputs.target.roleArn).to.equal(
          `arn:aws:iam::${ACCOUNT_ID}:role/${role.physicalName}`,
        );
      }
    });

    it('writes the rate with the singular unit for one minute', () => {
      expect(rateExpression(1)).to.equal('rate(1 minute)');
      expect(rateExpression(15)).to.equal('rate(15 minutes)');
      expect(schedulePeriodMinutes(15)).to.equal(15);
      expect(schedulePeriodMinutes(90)).to.equal(60);
      expect(schedulePeriodMinutes(1440)).to.equal(60);
    });
  });

  describe('SSM parameters', () => {
    it('creates action (RUN) and state (initial state, retained), ignores later value changes, leaves the lock to the workflow', () => {
      for (const t of tables) {
        const params = ofType(byAlias(t.alias), T.parameter);
        const action = params.find((p) => p.physicalName!.endsWith('/action'))!;
        const state = params.find((p) => p.physicalName!.endsWith('/state'))!;
        expect(params.map((p) => p.physicalName)).not.to.include(
          `/dynamodb-continuous-exports/${STACK}/${t.alias}/lock`,
        );
        expect(action.inputs).to.include({ type: 'String', value: 'RUN' });
        expect(action.options.ignoreChanges).to.deep.equal(['value']);
        expect(state.inputs.value).to.equal(initialStateJson());
        expect(state.inputs.type).to.equal('String');
        expect(state.options.ignoreChanges).to.deep.equal(['value']);
        expect(state.options.retainOnDelete).to.equal(true);
        // `overwrite` would make a re-deploy over a retained state parameter write the initial state
        // over a live chain; re-using it goes through `pulumi import` instead (docs/deploy.md).
        expect(state.inputs.overwrite).to.equal(undefined);
      }
    });
  });

  describe('monitoring', () => {
    it('alarms on failed executions and on chain lag, both to the alarm topic', () => {
      for (const t of tables) {
        const mine = byAlias(t.alias);
        const alarms = ofType(mine, T.alarm);
        const failed = alarms.find((a) => a.inputs.metricName === 'ExecutionsFailed')!;
        const sm = one(mine, T.stateMachine);
        expect(failed.inputs.namespace).to.equal('AWS/States');
        expect(failed.inputs.dimensions).to.deep.equal({
          StateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${sm.physicalName}`,
        });
        expect(failed.inputs.threshold).to.equal(1);
        expect(failed.inputs.treatMissingData).to.equal('notBreaching');
        const lag = alarms.find((a) => a.inputs.metricName === METRICS.chainLagSeconds)!;
        const expected = chainLagAlarmSettings(Math.min(t.windowMinutes, 60), t.lagAlarmMinutes);
        expect(lag.inputs.threshold).to.equal(t.lagAlarmMinutes * 60);
        expect(lag.inputs.period).to.equal(expected.periodSeconds);
        expect(lag.inputs.treatMissingData).to.equal('breaching');
        expect(lag.inputs.dimensions).to.deep.equal({ Table: t.alias });
        // CloudWatch refuses alarms that evaluate more than a day of periods shorter than an hour.
        expect(lag.inputs.period * lag.inputs.evaluationPeriods).to.be.at.most(86400);
        // Undelivered notifications: pending in every tick of two periods in a row, to the alarm topic.
        const pending = alarms.find((a) => a.inputs.metricName === METRICS.notificationsPending)!;
        expect(pending.inputs.statistic).to.equal('Minimum');
        expect(pending.inputs.threshold).to.equal(0);
        expect(pending.inputs.comparisonOperator).to.equal('GreaterThanThreshold');
        expect(pending.inputs.evaluationPeriods).to.equal(2);
        expect(pending.inputs.period).to.equal(Math.min(t.windowMinutes, 60) * 60);
        expect(pending.inputs.treatMissingData).to.equal('notBreaching');
      }
    });

    it("watches the metric the tick actually emits: the EMF record's namespace, dimension and name", () => {
      for (const t of tables) {
        const env = fromEnvironment(one(byAlias(t.alias), T.fn).inputs.environment.variables);
        // What CloudWatch extracts from the tick's log line, built from the deployed environment.
        const record = emfRecord(
          env.metricNamespace,
          env.alias,
          {
            chainLagSeconds: 1,
            inFlightExports: 0,
            exportsStarted: 0,
            exportsCompleted: 0,
            exportsFailed: 0,
            notificationsPending: 0,
            notificationsDropped: 0,
          },
          0,
        ) as any;
        const directive = record._aws.CloudWatchMetrics[0];
        const dims = Object.fromEntries(directive.Dimensions[0].map((d: string) => [d, record[d]]));
        for (const metric of [METRICS.chainLagSeconds, METRICS.notificationsPending]) {
          const alarm = ofType(byAlias(t.alias), T.alarm).find((a) => a.inputs.metricName === metric)!;
          expect(alarm, metric).to.not.equal(undefined);
          expect(alarm.inputs.namespace).to.equal(directive.Namespace);
          expect(alarm.inputs.dimensions).to.deep.equal(dims);
          expect(directive.Metrics.map((m: any) => m.Name)).to.include(alarm.inputs.metricName);
          // A unit on the alarm would have to match the emitted one exactly; none matches any.
          expect(alarm.inputs.unit).to.equal(undefined);
        }
      }
    });

    it('shows lag, exports started/completed/failed, execution failures and exports in flight', () => {
      for (const t of tables) {
        const body = JSON.parse(one(byAlias(t.alias), T.dashboard).inputs.dashboardBody);
        const metrics = body.widgets.flatMap((w: any) => w.properties.metrics.map((m: any[]) => m[1]));
        expect(metrics).to.include.members([
          METRICS.chainLagSeconds,
          METRICS.exportsStarted,
          METRICS.exportsCompleted,
          METRICS.exportsFailed,
          METRICS.inFlightExports,
          'ExecutionsFailed',
        ]);
        const tableDims = body.widgets
          .flatMap((w: any) => w.properties.metrics)
          .filter((m: any[]) => m[0] !== 'AWS/States')
          .map((m: any[]) => m[3]);
        for (const d of tableDims) expect(d).to.equal(t.alias);
      }
    });
  });

  describe('stack outputs', () => {
    it('has one entry per alias with everything the operator CLI reads', () => {
      const out = run.outputs.tables;
      expect(Object.keys(out)).to.have.members(tables.map((t) => t.alias));
      for (const t of tables) {
        const o = out[t.alias];
        const mine = byAlias(t.alias);
        const bucket = t.bucket.existingName ?? one(mine, T.bucket).physicalName;
        expect(o.bucket).to.equal(bucket);
        expect(o.prefix).to.equal(t.bucket.prefix);
        expect(o.exportsUri).to.equal(`s3://${bucket}/${t.bucket.prefix}/AWSDynamoDB/`);
        expect(o.chainManifestUri).to.equal(`s3://${bucket}/${t.bucket.prefix}/chain/`);
        expect(o.stateMachineArn).to.match(/^arn:aws:states:/);
        expect(o.notificationTopicArn).to.match(/-notifications$/);
        expect(o.alarmTopicArn).to.match(/-alarms$/);
        expect(o.parameters).to.deep.equal({
          action: `/dynamodb-continuous-exports/${STACK}/${t.alias}/action`,
          state: `/dynamodb-continuous-exports/${STACK}/${t.alias}/state`,
          lock: `/dynamodb-continuous-exports/${STACK}/${t.alias}/lock`,
        });
        expect(o.scheduleName).to.equal(one(mine, T.schedule).physicalName);
        expect(o.dashboardName).to.equal(one(mine, T.dashboard).physicalName);
        expect(o.tickFunctionName).to.equal(one(mine, T.fn).physicalName);
      }
    });

    it('exports exactly the outputs the stack-output contract names, each entry of its shape', () => {
      expect(Object.keys(run.outputs)).to.have.members(Object.values(STACK_OUTPUTS));
      for (const t of tables) tableOutputSchema.strict().parse(run.outputs.tables[t.alias]);
      for (const b of run.outputs.bucketLocations) bucketLocationSchema.strict().parse(b);
      // What the CLI reads is what the program writes.
      const read = parseStackOutput(JSON.stringify(run.outputs));
      for (const t of tables) expect(read[t.alias]).to.deep.equal(run.outputs.tables[t.alias]);
    });

    it('lists every bucket location', () => {
      expect(run.outputs.bucketLocations.map((b: any) => b.alias)).to.deep.equal(tables.map((t) => t.alias));
      for (const b of run.outputs.bucketLocations) {
        expect(b.exportsUri).to.equal(run.outputs.tables[b.alias].exportsUri);
        expect(b.chainManifestUri).to.equal(run.outputs.tables[b.alias].chainManifestUri);
      }
    });
  });
});

describe('Pulumi program with an invalid config', () => {
  it('fails with every problem before registering any resource', async () => {
    let error: unknown;
    let registered: RecordedResource[] = [];
    const resources: RecordedResource[] = [];
    try {
      await runProgram(
        {
          tables: [
            { tableName: 'Orders', windowMinutes: 5 },
            { tableName: 'Orders', bucket: { existingName: 'Not_A_Bucket' } },
          ],
          defaults: { logRetentionDays: 8 },
        },
        STACK,
        resources,
      );
    } catch (e) {
      error = e;
      registered = resources;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.path)).to.have.members([
      'defaults.logRetentionDays',
      'tables[0].windowMinutes',
      'tables[1].bucket.existingName',
      'tables[1].tableName',
    ]);
    expect(registered).to.deep.equal([]);
  });

  it('fails without any table', async () => {
    const error = await runProgram({}, STACK).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.path)).to.deep.equal(['tables']);
  });
});

describe('ContinuousExport variants', () => {
  const resources: RecordedResource[] = [];
  const bundles: Record<string, HandlerBundle> = Object.fromEntries(
    LAMBDA_HANDLERS.map((h) => [
      h.name,
      { code: `exports.handler = async () => (${JSON.stringify(h.name)});`, sha256: h.name },
    ]),
  );
  let versioned: ContinuousExport;
  let crossAccount: ContinuousExport;
  let invalidError: unknown;
  const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const mine = (name: string) =>
    resources.filter((r) => r.type !== T.component && r.name.startsWith(`${name}-`));

  before(() =>
    withPlainStacks(async () => {
      await installMocks(resources, 'prod');
      versioned = new ContinuousExport('prod-ledger', {
        tableName: 'Ledger',
        windowMinutes: 90,
        kmsKeyArn: KEY,
        bucket: { versioning: true },
        retainBucketOnDelete: false,
        bundles,
      });
      crossAccount = new ContinuousExport('prod-events', {
        tableName: 'Events',
        bucket: { existingName: 'central-lake', prefix: 'ddb/events', ownerAccountId: '999988887777' },
        bundles,
      });
      try {
        new ContinuousExport('prod-broken', { tableName: 'Broken', windowMinutes: 5, bundles });
      } catch (error) {
        invalidError = error;
      }
      await settle(
        versioned.urn,
        crossAccount.urn,
        versioned.stateMachineArn,
        crossAccount.crossAccountBucketPolicyStatements!,
      );
    }),
  );

  it('uses the stack name in parameter paths when none is given', () => {
    expect(versioned.stateParameterName).to.equal('/dynamodb-continuous-exports/prod/ledger/state');
  });

  it('runs hourly for windows longer than an hour', () => {
    expect(one(mine('prod-ledger'), T.schedule).inputs.scheduleExpression).to.equal('rate(60 minutes)');
  });

  it('encrypts a created bucket with the configured KMS key and turns on versioning', () => {
    const r = mine('prod-ledger');
    const rule = one(r, T.encryption).inputs.rules[0];
    expect(rule.applyServerSideEncryptionByDefault).to.deep.equal({
      sseAlgorithm: 'aws:kms',
      kmsMasterKeyId: KEY,
    });
    expect(rule.bucketKeyEnabled).to.equal(true);
    expect(one(r, T.versioning).inputs.versioningConfiguration).to.deep.equal({ status: 'Enabled' });
  });

  it('deletes the bucket with the stack when asked to', () => {
    expect(one(mine('prod-ledger'), T.bucket).options.retainOnDelete).to.equal(false);
  });

  it('creates no bucket for an existing one and outputs the statement the bucket owner must add', async () => {
    const r = mine('prod-events');
    expect(ofType(r, T.bucket)).to.have.length(0);
    expect(ofType(r, T.bucketPolicy)).to.have.length(0);
    const [statement, listing] = JSON.parse(await resolve(crossAccount.crossAccountBucketPolicyStatements!));
    const role = ofType(r, T.role).find((x) => x.physicalName!.endsWith('-export-tick'))!;
    expect(statement.Principal).to.deep.equal({
      AWS: `arn:aws:iam::${ACCOUNT_ID}:role/${role.physicalName}`,
    });
    expect(statement.Resource).to.have.members([
      'arn:aws:s3:::central-lake/ddb/events/AWSDynamoDB/*',
      'arn:aws:s3:::central-lake/ddb/events/chain/*',
    ]);
    // The DynamoDB developer guide's bucket policy for exports to another account's bucket: exactly
    // these three object actions (PutObject also covers the chain manifest), plus reading back the
    // run-failure marker beside the chain, nothing on the bucket.
    expect(statement.Action).to.have.members([
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:PutObject',
      's3:PutObjectAcl',
    ]);
    expect(statement.Effect).to.equal('Allow');
    // Listing the run-failure note's key alone, so that a note never written answers 404, not 403.
    expect(listing).to.deep.include({
      Principal: statement.Principal,
      Action: ['s3:ListBucket'],
      Resource: ['arn:aws:s3:::central-lake'],
      Condition: { StringEquals: { 's3:prefix': ['ddb/events/chain/run-failures.json'] } },
    });
    const env = fromEnvironment(one(r, T.fn).inputs.environment.variables);
    expect(env.bucketOwnerAccountId).to.equal('999988887777');
    expect(versioned.crossAccountBucketPolicyStatements).to.equal(undefined);
  });

  it('refuses invalid arguments before creating any child resource', () => {
    expect(invalidError).to.be.instanceOf(ConfigError);
    expect((invalidError as ConfigError).problems.map((p) => p.path)).to.include('tables[0].windowMinutes');
    expect(mine('prod-broken')).to.have.length(0);
  });
});
