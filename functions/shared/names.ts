/**
 * The SSM parameter names of a table's workflows: the export chain's, each replica's and the Iceberg
 * feed's state, action and lock, built in one place. The component (components/names.ts), the
 * Lambdas, the operator CLI and the offline system all take them from here (functions/ may not import
 * components/, so the builders live at this level).
 *
 * The names are part of a deployed stack: changing one moves a workflow's state, so they only grow.
 */

/** Root of every SSM parameter path this program owns. */
export const PARAMETER_ROOT = '/dynamodb-continuous-exports';

/** The parameters of one workflow. */
export interface WorkflowParameterNames {
  state: string;
  /** The operator's action, which the workflow only reads. Absent where the workflow has none yet. */
  action?: string;
  /** The lease that guards the state (functions/shared/lease.ts). */
  lock: string;
}

/** `/dynamodb-continuous-exports/<stack>/<table alias>`: everything of one table is below it. */
export function tableParameterPath(stack: string, alias: string): string {
  return `${PARAMETER_ROOT}/${stack}/${alias}`;
}

/** The export chain's parameters: `<table path>/state`, `/action`, `/lock`. */
export function chainParameterNames(stack: string, alias: string): Required<WorkflowParameterNames> {
  const path = tableParameterPath(stack, alias);
  return { state: `${path}/state`, action: `${path}/action`, lock: `${path}/lock` };
}

/** A replica's lock: beside its state parameter (`.../replicas/<alias>/state-lock`). */
export function replicaLockName(stateParameterName: string): string {
  return `${stateParameterName}-lock`;
}

/** The action parameter beside a replica's state parameter: `.../replicas/<alias>/action`. */
export function replicaActionParameterName(stateParameterName: string): string {
  return stateParameterName.endsWith('/state')
    ? `${stateParameterName.slice(0, -'/state'.length)}/action`
    : `${stateParameterName}-action`;
}

/** A replica's parameters: `<table path>/replicas/<replica alias>/state`, its action and its lock. */
export function replicaParameterNames(
  stack: string,
  tableAlias: string,
  replicaAlias: string,
): Required<WorkflowParameterNames> {
  const state = `${tableParameterPath(stack, tableAlias)}/replicas/${replicaAlias}/state`;
  return { state, action: replicaActionParameterName(state), lock: replicaLockName(state) };
}

/**
 * The Iceberg feed's parameters: `<table path>/iceberg/state`, `/action` (the operator's: `dce iceberg
 * pause|resume|rebuild`) and `/lock`.
 */
export function icebergParameterNames(stack: string, alias: string): Required<WorkflowParameterNames> {
  const path = `${tableParameterPath(stack, alias)}/iceberg`;
  return { state: `${path}/state`, action: `${path}/action`, lock: `${path}/lock` };
}

/** The stack a parameter of this program belongs to; undefined for any other name. */
export function stackOfParameter(name: string): string | undefined {
  if (!name.startsWith(`${PARAMETER_ROOT}/`)) return undefined;
  const stack = name.slice(PARAMETER_ROOT.length + 1).split('/')[0];
  return stack === '' ? undefined : stack;
}

/** The replica alias of a replica's state parameter (`.../replicas/<alias>/state`); undefined otherwise. */
export function replicaAliasOfParameter(name: string): string | undefined {
  const parts = name.split('/');
  const n = parts.length;
  return n >= 3 && parts[n - 1] === 'state' && parts[n - 3] === 'replicas' && parts[n - 2] !== ''
    ? parts[n - 2]
    : undefined;
}
