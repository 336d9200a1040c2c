/**
 * Physical names of everything one table's export deploys, and the AWS length limit of each.
 *
 * The same function names the resources in the component and checks the config: an alias that would
 * push any name past its limit is rejected before anything is created, instead of failing half-way
 * through `pulumi up`.
 */
import { LAMBDA_HANDLERS } from '../functions/shared/lambdaHandlers';
import {
  PARAMETER_ROOT,
  chainParameterNames,
  icebergParameterNames,
  replicaParameterNames,
} from '../functions/shared/names';

// The SSM parameter names are built by functions/shared/names.ts, which the Lambdas use too.
export { PARAMETER_ROOT, chainParameterNames, icebergParameterNames, replicaParameterNames };

/** What kind of AWS resource a name belongs to; each kind has its own limit. */
export type NameKind =
  | 'lambdaFunction'
  | 'iamRole'
  | 'stateMachine'
  | 'schedule'
  | 'snsTopic'
  | 'logGroup'
  | 'alarm'
  | 'dashboard'
  | 's3Bucket'
  | 'ssmParameter';

/** AWS limits on name length, in characters. */
export const NAME_LIMITS: Record<NameKind, number> = {
  lambdaFunction: 64,
  iamRole: 64,
  stateMachine: 80,
  schedule: 64,
  snsTopic: 256,
  logGroup: 512,
  alarm: 255,
  dashboard: 255,
  s3Bucket: 63,
  ssmParameter: 1011,
};

/** A 12-digit account id stands in for the real one when lengths are checked before deployment. */
const ACCOUNT_PLACEHOLDER = '000000000000';

/** Lower-case, every character outside [a-z0-9-] replaced by '-', leading and trailing '-' removed. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** The component name for a table: the stack and the alias, so two stacks in one account never clash. */
export function componentName(stack: string, alias: string): string {
  return `${slug(stack)}-${alias}`;
}

/** Every physical name of one component, derived from its name. */
export interface PhysicalNames {
  /** Lambda function name per `LAMBDA_HANDLERS` entry name. */
  functions: Record<string, string>;
  /** Lambda execution role name per handler name. */
  functionRoles: Record<string, string>;
  /** Log group of each Lambda function, per handler name. */
  functionLogGroups: Record<string, string>;
  stateMachine: string;
  stateMachineRole: string;
  /** `/aws/vendedlogs/states/...`: the prefix Step Functions recommends, which keeps the resource policy small. */
  stateMachineLogGroup: string;
  schedule: string;
  schedulerRole: string;
  notificationTopic: string;
  alarmTopic: string;
  executionsFailedAlarm: string;
  chainLagAlarm: string;
  notificationsAlarm: string;
  dashboard: string;
  /** Name of the bucket created when none is configured; the account id keeps it globally unique. */
  bucket: (accountId: string) => string;
  actionParameter: string;
  stateParameter: string;
  lockParameter: string;
}

/** Physical names for component `name` in stack `stack` with alias `alias`. */
export function physicalNames(name: string, stack: string, alias: string): PhysicalNames {
  const functions: Record<string, string> = {};
  const functionRoles: Record<string, string> = {};
  const functionLogGroups: Record<string, string> = {};
  for (const handler of LAMBDA_HANDLERS) {
    functions[handler.name] = `${name}-${handler.name}`;
    functionRoles[handler.name] = `${name}-${handler.name}`;
    functionLogGroups[handler.name] = `/aws/lambda/${functions[handler.name]}`;
  }
  const stateMachine = `${name}-export-chain`;
  const parameters = chainParameterNames(stack, alias);
  return {
    functions,
    functionRoles,
    functionLogGroups,
    stateMachine,
    stateMachineRole: `${name}-states`,
    stateMachineLogGroup: `/aws/vendedlogs/states/${stateMachine}`,
    schedule: `${name}-schedule`,
    schedulerRole: `${name}-scheduler`,
    notificationTopic: `${name}-notifications`,
    alarmTopic: `${name}-alarms`,
    executionsFailedAlarm: `${name}-executions-failed`,
    chainLagAlarm: `${name}-chain-lag`,
    notificationsAlarm: `${name}-notifications-undelivered`,
    dashboard: `${name}-continuous-export`,
    bucket: (accountId) => `${name}-exports-${accountId}`,
    actionParameter: parameters.action,
    stateParameter: parameters.state,
    lockParameter: parameters.lock,
  };
}

/** One physical name with its kind and limit. */
export interface NamedResource {
  kind: NameKind;
  name: string;
  limit: number;
}

/**
 * All names of a component as a flat list, for length checks. `createsBucket` adds the bucket name
 * (with a 12-digit placeholder account id, the real one has the same length).
 */
export function listPhysicalNames(names: PhysicalNames, createsBucket: boolean): NamedResource[] {
  const out: NamedResource[] = [];
  const add = (kind: NameKind, name: string) => out.push({ kind, name, limit: NAME_LIMITS[kind] });
  for (const n of Object.values(names.functions)) add('lambdaFunction', n);
  for (const n of Object.values(names.functionRoles)) add('iamRole', n);
  for (const n of Object.values(names.functionLogGroups)) add('logGroup', n);
  add('stateMachine', names.stateMachine);
  add('iamRole', names.stateMachineRole);
  add('logGroup', names.stateMachineLogGroup);
  add('schedule', names.schedule);
  add('iamRole', names.schedulerRole);
  add('snsTopic', names.notificationTopic);
  add('snsTopic', names.alarmTopic);
  add('alarm', names.executionsFailedAlarm);
  add('alarm', names.notificationsAlarm);
  add('alarm', names.chainLagAlarm);
  add('dashboard', names.dashboard);
  if (createsBucket) add('s3Bucket', names.bucket(ACCOUNT_PLACEHOLDER));
  add('ssmParameter', names.actionParameter);
  add('ssmParameter', names.stateParameter);
  add('ssmParameter', names.lockParameter);
  return out;
}

/** The names of a component that exceed their AWS limit (empty when all fit). */
export function overlongNames(names: PhysicalNames, createsBucket: boolean): NamedResource[] {
  return listPhysicalNames(names, createsBucket).filter((n) => n.name.length > n.limit);
}

/** Physical names of one replica's resources: `<component>-<replica alias>-<what>`. */
export function replicaPhysicalNames(component: string, replicaAlias: string) {
  const base = `${component}-${replicaAlias}`;
  return {
    base,
    applyFunction: `${base}-apply`,
    applyFunctionRole: `${base}-apply-role`,
    stateMachine: `${base}-replica`,
    stateMachineRole: `${base}-replica-role`,
    schedule: `${base}-replica`,
    schedulerRole: `${base}-sched-role`,
    lagAlarm: `${base}-replica-lag`,
  };
}

/**
 * Physical names of an Iceberg feed's alarms: `<component>-iceberg-<what>`, lower case like the feed's
 * other names (Athena workgroups and S3 buckets take them). The table's topic key lets them publish.
 */
export function icebergPhysicalNames(component: string) {
  const base = `${component}-iceberg`.toLowerCase();
  return { base, haltedAlarm: `${base}-halted`, lagAlarm: `${base}-lag` };
}
