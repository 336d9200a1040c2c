/**
 * What a stack deploys, read from the program run under mocks (`cli/stackUnderMocks.ts`): every IAM
 * role with its inline policies, and per workflow its Lambda function, state machine and schedule.
 * The offline system runs with exactly these (`sim/simulation/deployment.ts`).
 */
import { lambdaPolicy, type TableResourceFacts } from '../components/permissions';
import { LAMBDA_HANDLERS } from '../functions/shared/lambdaHandlers';
import type { WorkflowSettings } from '../functions/chain/settings';
import type { PolicyDocument, RoleAccess } from '../sim/iam/evaluator';
import type { ReplicationRule } from '../sim/s3Replication';
import type {
  DeployedIcebergFeed,
  DeployedReplication,
  UnscheduledWorkflow,
  DeployedWorkflow,
  DeploySimulation,
  SimulationDeployment,
} from '../sim/simulation/deployment';
import { runProgramUnderMocks, type MockedResource } from './stackUnderMocks';

const ROLE = 'aws:iam/role:Role';
const ROLE_POLICY = 'aws:iam/rolePolicy:RolePolicy';
const FUNCTION = 'aws:lambda/function:Function';
const STATE_MACHINE = 'aws:sfn/stateMachine:StateMachine';
const SCHEDULE = 'aws:scheduler/schedule:Schedule';
const TOPIC = 'aws:sns/topic:Topic';
const WORKGROUP = 'aws:athena/workgroup:Workgroup';
const REPLICATION = 'aws:s3/bucketReplicationConfig:BucketReplicationConfig';

const roleNameOf = (arn: string) => arn.slice(arn.indexOf(':role/') + ':role/'.length);
const policyOf = (value: unknown): PolicyDocument =>
  (typeof value === 'string' ? JSON.parse(value) : value) as PolicyDocument;

/** Every role of the stack with its inline policies. */
export function deployedRoles(resources: MockedResource[], account: string): RoleAccess[] {
  return resources
    .filter((r) => r.type === ROLE)
    .map((role) => {
      const name = role.physicalName ?? role.name;
      return {
        name,
        arn: `arn:aws:iam::${account}:role/${name}`,
        policies: resources
          .filter((p) => p.type === ROLE_POLICY && (p.inputs.role === name || p.inputs.role === `${name}-id`))
          .map((p) => ({ name: String(p.inputs.name ?? p.name), document: policyOf(p.inputs.policy) })),
      };
    });
}

/** The Lambda function ARNs a definition invokes. */
function invokedFunctions(definition: unknown): string[] {
  const text = typeof definition === 'string' ? definition : JSON.stringify(definition);
  return [...text.matchAll(/"FunctionName"\s*:\s*"([^"]+)"/g)].map((m) => m[1]);
}

/**
 * Every workflow of the stack: a state machine, the function it invokes and the schedule that starts
 * it; a replica deployed with `schedule: false` has none (its `schedulerRole` is absent).
 */
export function deployedWorkflows(
  resources: MockedResource[],
  target: { region: string; account: string },
): UnscheduledWorkflow[] {
  const functionArn = (name: string) => `arn:aws:lambda:${target.region}:${target.account}:function:${name}`;
  const machineArn = (name: string) =>
    `arn:aws:states:${target.region}:${target.account}:stateMachine:${name}`;
  return resources
    .filter((r) => r.type === STATE_MACHINE)
    .map((machine) => {
      const name = machine.physicalName ?? machine.name;
      const invoked = invokedFunctions(machine.inputs.definition);
      const fn = resources.find(
        (r) => r.type === FUNCTION && invoked.includes(functionArn(r.physicalName ?? r.name)),
      );
      if (!fn) throw new Error(`state machine ${name} invokes no deployed function (${invoked.join(', ')})`);
      const schedule = resources.find(
        (r) => r.type === SCHEDULE && r.inputs.target?.arn === machineArn(name),
      );
      return {
        functionName: fn.physicalName ?? fn.name,
        functionArn: functionArn(fn.physicalName ?? fn.name),
        functionRole: roleNameOf(String(fn.inputs.role)),
        environment: (fn.inputs.environment?.variables ?? {}) as Record<string, string>,
        timeoutSeconds: Number(fn.inputs.timeout),
        memorySizeMb: Number(fn.inputs.memorySize),
        stateMachineName: name,
        stateMachineArn: machineArn(name),
        stateMachineRole: roleNameOf(String(machine.inputs.roleArn)),
        ...(schedule ? { schedulerRole: roleNameOf(String(schedule.inputs.target.roleArn)) } : {}),
      };
    });
}

/** The KMS key of each encrypted topic, by the topic's ARN. */
export function deployedTopicKeys(
  resources: MockedResource[],
  target: { region: string; account: string },
): Record<string, string> {
  return Object.fromEntries(
    resources
      .filter((r) => r.type === TOPIC && typeof r.inputs.kmsMasterKeyId === 'string')
      .map((t) => [
        `arn:aws:sns:${target.region}:${target.account}:${t.physicalName ?? t.name}`,
        String(t.inputs.kmsMasterKeyId),
      ]),
  );
}

/** The export bucket's replication (`dr:`): its rules as rendered, and the role S3 replicates as. */
export function deployedReplication(resources: MockedResource[]): DeployedReplication | undefined {
  const config = resources.find((r) => r.type === REPLICATION);
  if (!config) return undefined;
  return {
    roleName: roleNameOf(String(config.inputs.role)),
    rules: config.inputs.rules as ReplicationRule[],
  };
}

/** An Iceberg feed's function is the one whose environment carries its settings. */
const isIcebergFeed = (w: UnscheduledWorkflow) => w.environment.ICEBERG_SETTINGS !== undefined;

/**
 * The Iceberg feed's workflow with its rendered definition and its Athena workgroup: the workgroup
 * whose name the definition gives, and the result location it enforces.
 */
function deployedIcebergFeed(resources: MockedResource[], feed: DeployedWorkflow): DeployedIcebergFeed {
  const machine = resources.find(
    (r) => r.type === STATE_MACHINE && (r.physicalName ?? r.name) === feed.stateMachineName,
  )!;
  const definition = String(machine.inputs.definition);
  const named = (
    JSON.parse(definition) as { States: Record<string, { Parameters?: { WorkGroup?: string } }> }
  ).States;
  const workGroup = Object.values(named).find((s) => s.Parameters?.WorkGroup)?.Parameters?.WorkGroup;
  const group = resources.find((r) => r.type === WORKGROUP && r.inputs.name === workGroup);
  const outputLocation = group?.inputs.configuration?.resultConfiguration?.outputLocation;
  if (!workGroup || typeof outputLocation !== 'string')
    throw new Error(
      `state machine ${feed.stateMachineName} names no deployed Athena workgroup with a result location`,
    );
  return { ...feed, definition, workGroup, outputLocation };
}

/** The export chain's, the replicas' and the Iceberg feed's workflows of one table's deployment. */
export function simulationDeployment(
  resources: MockedResource[],
  target: { region: string; account: string },
): SimulationDeployment {
  const all = deployedWorkflows(resources, target);
  // Only a replica may be deployed without a schedule: the workflow of one-shot restores.
  const unscheduled = all.filter((w) => w.schedulerRole === undefined);
  const workflows = all.filter((w): w is DeployedWorkflow => w.schedulerRole !== undefined);
  const tick = LAMBDA_HANDLERS.find((h) => h.name === 'export-tick')!;
  const isChain = (w: UnscheduledWorkflow) => w.functionName.endsWith(`-${tick.name}`);
  for (const w of unscheduled)
    if (isChain(w) || isIcebergFeed(w))
      throw new Error(`no schedule starts state machine ${w.stateMachineName}`);
  const exportChain = workflows.find(isChain);
  if (!exportChain) throw new Error('the stack deploys no export chain');
  const feed = workflows.find(isIcebergFeed);
  const replication = deployedReplication(resources);
  // Every other workflow of a table is one of its replicas'.
  return {
    roles: deployedRoles(resources, target.account),
    exportChain,
    replicas: workflows.filter((w) => !isChain(w) && !isIcebergFeed(w)),
    ...(unscheduled[0] ? { restoreReplica: unscheduled[0] } : {}),
    ...(feed ? { iceberg: deployedIcebergFeed(resources, feed) } : {}),
    topicKeys: deployedTopicKeys(resources, target),
    ...(replication ? { replication } : {}),
  };
}

const rendered = new Map<string, Promise<SimulationDeployment>>();

/**
 * Renders the program for `config` under mocks and reads the simulated table's deployment. The same
 * config renders the same stack, so each is rendered once per process.
 */
export const deploySimulation: DeploySimulation = (config, target) => {
  const key = JSON.stringify([config, target]);
  let deployment = rendered.get(key);
  if (!deployment) {
    deployment = runProgramUnderMocks(config, target).then(({ resources }) =>
      simulationDeployment(resources, target),
    );
    rendered.set(key, deployment);
  }
  return deployment;
};

/**
 * The export tick's role for a table whose tick runs with `settings`, as the component renders it
 * (`lambdaPolicy` over the same facts): for offline runs that build their settings directly rather
 * than through a stack config (the workflow tests' scenarios, the bench).
 */
export function tickRoleForSettings(
  settings: WorkflowSettings,
  where: { region: string; account: string; partition?: string },
): RoleAccess {
  const partition = where.partition ?? 'aws';
  const functionName = `${settings.alias}-export-tick`;
  const facts: TableResourceFacts = {
    partition,
    region: where.region,
    accountId: where.account,
    tableName: settings.tableName,
    bucket: settings.bucket,
    prefix: settings.prefix,
    stateParameterName: settings.stateParameterName,
    actionParameterName: settings.actionParameterName,
    lockParameterName: settings.lockParameterName,
    notificationTopicArn: settings.notificationTopicArn,
    kmsKeyArn: settings.kmsKeyArn,
    tickFunctionArn: `arn:${partition}:lambda:${where.region}:${where.account}:function:${functionName}`,
  };
  const logGroup = `arn:${partition}:logs:${where.region}:${where.account}:log-group:/aws/lambda/${functionName}`;
  return {
    name: functionName,
    arn: `arn:${partition}:iam::${where.account}:role/${functionName}`,
    policies: [{ name: 'workflow', document: lambdaPolicy(facts, logGroup) as unknown as PolicyDocument }],
  };
}
