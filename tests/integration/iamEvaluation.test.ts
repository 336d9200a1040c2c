/**
 * The offline AWS evaluates IAM on every call (sim/iam/): against the policies the stack deploys,
 * rendered under Pulumi's mocks, with a real policy evaluator. A denied call fails the way the service
 * fails it, and S3 hides a missing key behind 403 from a caller that may not list it.
 */
import { expect } from 'chai';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { DeleteParameterCommand, GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { ImportTableCommand, ListImportsCommand, DescribeImportCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import { deploySimulation } from '../../cli/deployedAccess';
import { stateMachineLogDeliveryStatement } from '../../components/permissions';
import { CallLog } from '../../sim/fakeAws/service';
import { FakeS3 } from '../../sim/fakeAws/s3';
import { AccessEvaluator, type RoleAccess } from '../../sim/iam/evaluator';
import { guardClient } from '../../sim/iam/guard';
import { iamRequestsOf, UnmappedCommandError, type CallScope } from '../../sim/iam/requests';
import {
  SIMULATION_BUCKET,
  SIMULATION_PREFIX,
  simulationStackConfig,
  type DeploymentTarget,
  type SimulationDeployment,
} from '../../sim/simulation/deployment';
import type { SendClient } from '../../sim/machines/localRun';

const TARGET: DeploymentTarget = { stack: 'simulation', region: 'us-east-1', account: '123456789012' };
const SCOPE: CallScope = { partition: 'aws', region: TARGET.region, account: TARGET.account };
const PARAMETERS = '/dynamodb-continuous-exports/simulation/orders';

/** A client that answers every call with `answer` (after `onCall`). */
function stub(answer: unknown = {}, onCall: () => void = () => undefined): SendClient {
  return {
    send: async () => {
      onCall();
      return answer;
    },
  } as unknown as SendClient;
}

/** The error a call fails with, or undefined when it succeeds. */
async function failure(call: Promise<unknown>): Promise<any> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return error;
  }
}

function s3WithObjects(keys: string[]): FakeS3 {
  const s3 = new FakeS3(new CallLog(), () => Date.now());
  s3.createBucket(SIMULATION_BUCKET);
  for (const key of keys)
    void s3.send(new PutObjectCommand({ Bucket: SIMULATION_BUCKET, Key: key, Body: 'x' }));
  return s3;
}

describe('IAM evaluated on every call, against the deployed policies (sim/iam/)', function () {
  // Renders the program under Pulumi's mocks once (about 2 s).
  this.timeout(60_000);
  let deployment: SimulationDeployment;
  let importDeployment: SimulationDeployment;
  let access: AccessEvaluator;

  before(async () => {
    deployment = await deploySimulation(simulationStackConfig({ window: 15 }), TARGET);
    importDeployment = await deploySimulation(
      simulationStackConfig({ window: 15, replicaBootstrap: 'import' }),
      TARGET,
    );
    access = new AccessEvaluator([...deployment.roles]);
  });

  const as = (
    client: SendClient,
    service: 's3' | 'ssm' | 'dynamodb' | 'sns',
    role: string,
    evaluator = access,
  ) => guardClient(client, { service, role, scope: SCOPE, evaluator });

  describe("S3's answer for a missing key", () => {
    const dataKey = `${SIMULATION_PREFIX}/AWSDynamoDB/01762041600000-0a1b2c3d/data/file-0001.json.gz`;
    const chainKey = `${SIMULATION_PREFIX}/chain/entries/00000001.json`;

    it('is 404 NoSuchKey to a caller that may list the key (the replica: chain entries and export files)', async () => {
      const s3 = as(s3WithObjects([]), 's3', deployment.replicas[0].functionRole);
      for (const key of [dataKey, chainKey]) {
        const error = await failure(s3.send(new GetObjectCommand({ Bucket: SIMULATION_BUCKET, Key: key })));
        expect(error?.name, key).to.equal('NoSuchKey');
        expect(error.$metadata.httpStatusCode).to.equal(404);
      }
      const head = await failure(s3.send(new HeadObjectCommand({ Bucket: SIMULATION_BUCKET, Key: dataKey })));
      expect(head?.name).to.equal('NotFound');
    });

    it('is 403 AccessDenied to a caller that may read but not list it', async () => {
      const readOnly: RoleAccess = {
        name: 'reader',
        arn: `arn:aws:iam::${TARGET.account}:role/reader`,
        policies: [
          {
            name: 'read',
            document: {
              Version: '2012-10-17',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['s3:GetObject'],
                  Resource: [`arn:aws:s3:::${SIMULATION_BUCKET}/*`],
                },
              ],
            },
          },
        ],
      };
      const evaluator = new AccessEvaluator([readOnly]);
      const s3 = as(s3WithObjects([chainKey]), 's3', 'reader', evaluator);
      const get = await failure(s3.send(new GetObjectCommand({ Bucket: SIMULATION_BUCKET, Key: dataKey })));
      expect(get?.name).to.equal('AccessDenied');
      expect(get.$metadata.httpStatusCode).to.equal(403);
      const head = await failure(s3.send(new HeadObjectCommand({ Bucket: SIMULATION_BUCKET, Key: dataKey })));
      expect(head?.name).to.equal('Forbidden');
      expect(head.$metadata.httpStatusCode).to.equal(403);
      // An object that exists is read as usual.
      expect(
        await failure(s3.send(new GetObjectCommand({ Bucket: SIMULATION_BUCKET, Key: chainKey }))),
      ).to.equal(undefined);
      // The missing key's check is S3's own: it is not a denied call of the caller.
      expect(evaluator.denials).to.have.length(0);
    });
  });

  describe('a denied call', () => {
    it('fails before it reaches the service, as the service fails it, naming the role, action and resource', async () => {
      const tick = deployment.exportChain.functionRole;
      let reached = 0;
      const ssm = stub(undefined, () => (reached += 1));
      const asTick = as(ssm, 'ssm', tick);
      // The export tick never writes the operator's action parameter.
      const error = await failure(
        asTick.send(new PutParameterCommand({ Name: `${PARAMETERS}/action`, Value: 'RUN', Overwrite: true })),
      );
      expect(error?.name).to.equal('AccessDeniedException');
      expect(error.message).to.contain(`assumed-role/${tick}/`);
      expect(error.message).to.contain(
        `not authorized to perform: ssm:PutParameter on resource: arn:aws:ssm:us-east-1:${TARGET.account}:parameter${PARAMETERS}/action`,
      );
      expect(reached).to.equal(0);
      expect(access.denials.at(-1)).to.include({
        role: tick,
        command: 'ssm:PutParameter',
        action: 'ssm:PutParameter',
      });
      // Its own state is allowed.
      await asTick.send(
        new PutParameterCommand({ Name: `${PARAMETERS}/state`, Value: '{}', Overwrite: true }),
      );
      expect(reached).to.equal(1);
    });

    it('is refused for each service in its own words (S3 AccessDenied 403, SNS AuthorizationError 403)', async () => {
      const tick = deployment.exportChain.functionRole;
      const ok = stub();
      const s3 = await failure(
        as(ok, 's3', tick).send(new GetObjectCommand({ Bucket: 'another-bucket', Key: 'k' })),
      );
      expect([s3?.name, s3?.$metadata.httpStatusCode]).to.deep.equal(['AccessDenied', 403]);
      const sns = await failure(
        as(ok, 'sns', tick).send(
          new PublishCommand({
            TopicArn: `arn:aws:sns:us-east-1:${TARGET.account}:another-topic`,
            Message: 'x',
          }),
        ),
      );
      expect([sns?.name, sns?.$metadata.httpStatusCode]).to.deep.equal(['AuthorizationError', 403]);
    });

    it('is an explicit deny when a statement denies it, whatever else allows it', async () => {
      const role: RoleAccess = {
        name: 'denied',
        arn: `arn:aws:iam::${TARGET.account}:role/denied`,
        policies: [
          {
            name: 'both',
            document: {
              Version: '2012-10-17',
              Statement: [
                { Effect: 'Allow', Action: ['ssm:GetParameters'], Resource: ['*'] },
                {
                  Effect: 'Deny',
                  Action: ['ssm:GetParameters'],
                  Resource: [`arn:aws:ssm:*:*:parameter${PARAMETERS}/*`],
                },
              ],
            },
          },
        ],
      };
      const evaluator = new AccessEvaluator([role]);
      const ssm = as(stub(), 'ssm', 'denied', evaluator);
      const error = await failure(ssm.send(new GetParametersCommand({ Names: [`${PARAMETERS}/state`] })));
      expect(error?.message).to.contain('explicit deny');
      expect(evaluator.denials[0].result).to.equal('ExplicitlyDenied');
    });

    it('is refused for a command no mapping knows, rather than allowed', () => {
      class DescribeEverythingCommand {
        input = {};
      }
      expect(() => iamRequestsOf('dynamodb', new DescribeEverythingCommand(), SCOPE)).to.throw(
        UnmappedCommandError,
      );
    });
  });

  describe('paths no simulated run reaches, under the same evaluation', () => {
    const decide = async (d: SimulationDeployment, role: string, service: string, command: object) => {
      const evaluator = new AccessEvaluator(d.roles);
      const requests = iamRequestsOf(service, command, SCOPE);
      const denial = await evaluator.authorize(role, 'test', requests);
      return denial ? `${denial.action} on ${denial.resource}: ${denial.result}` : 'allowed';
    };

    it('a lease takeover: the tick writes and deletes its takeover markers, and deletes only lock parameters', async () => {
      const tick = deployment.exportChain.functionRole;
      const marker = `${PARAMETERS}/lock-takeover-0123456789abcdef-1`;
      expect(
        await decide(deployment, tick, 'ssm', new PutParameterCommand({ Name: marker, Value: 'x' })),
      ).to.equal('allowed');
      expect(await decide(deployment, tick, 'ssm', new DeleteParameterCommand({ Name: marker }))).to.equal(
        'allowed',
      );
      expect(
        await decide(deployment, tick, 'ssm', new DeleteParameterCommand({ Name: `${PARAMETERS}/lock` })),
      ).to.equal('allowed');
      expect(
        await decide(deployment, tick, 'ssm', new DeleteParameterCommand({ Name: `${PARAMETERS}/state` })),
      ).to.match(/ImplicitlyDenied/);
    });

    it('an import after a crash: ImportTable, DescribeImport and ListImports of the replica with bootstrap import', async () => {
      const role = importDeployment.replicas[0].functionRole;
      const table = `arn:aws:dynamodb:us-east-1:${TARGET.account}:table/orders-replica`;
      const importTable = new ImportTableCommand({
        S3BucketSource: {
          S3Bucket: SIMULATION_BUCKET,
          S3KeyPrefix: `${SIMULATION_PREFIX}/AWSDynamoDB/01762041600000-0a1b2c3d/data/`,
        },
        InputFormat: 'DYNAMODB_JSON',
        InputCompressionType: 'GZIP',
        TableCreationParameters: {
          TableName: 'orders-replica',
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        },
      });
      expect(await decide(importDeployment, role, 'dynamodb', importTable)).to.equal('allowed');
      expect(
        await decide(
          importDeployment,
          role,
          'dynamodb',
          new DescribeImportCommand({ ImportArn: `${table}/import/01762041600000-0a1b2c3d` }),
        ),
      ).to.equal('allowed');
      expect(
        await decide(importDeployment, role, 'dynamodb', new ListImportsCommand({ TableArn: table })),
      ).to.equal('allowed');
    });

    it('log delivery of each state machine: the actions CloudWatch Logs evaluates against "*"', async () => {
      // The list itself is pinned by tests/unit/deploy/iam.test.ts; here each must pass IAM's evaluation on `*`.
      const actions = stateMachineLogDeliveryStatement().Action;
      const evaluator = new AccessEvaluator(deployment.roles);
      for (const role of [deployment.exportChain.stateMachineRole, deployment.replicas[0].stateMachineRole]) {
        for (const action of actions) {
          const decision = await evaluator.check(role, { action, resource: '*' });
          expect(decision.result, `${role} ${action}`).to.equal('Allowed');
        }
      }
    });
  });

  describe('the listing the replica needs', () => {
    it('lists the chain and the export files under its prefix, and nothing else', async () => {
      const role = deployment.replicas[0].functionRole;
      const evaluator = new AccessEvaluator(deployment.roles);
      const list = (prefix: string) =>
        evaluator.authorize(
          role,
          'ListObjectsV2',
          iamRequestsOf('s3', new ListObjectsV2Command({ Bucket: SIMULATION_BUCKET, Prefix: prefix }), SCOPE),
        );
      expect(await list(`${SIMULATION_PREFIX}/chain/entries/`)).to.equal(undefined);
      expect(await list(`${SIMULATION_PREFIX}/AWSDynamoDB/01762041600000-0a1b2c3d/`)).to.equal(undefined);
      expect(await list('exports/other-table/chain/')).to.not.equal(undefined);
      expect(await list('')).to.not.equal(undefined);
    });
  });
});
