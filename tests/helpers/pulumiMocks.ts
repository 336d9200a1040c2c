/**
 * Runs Pulumi code under `pulumi.runtime.setMocks` (no CLI, no provider) and records every resource
 * with its inputs, so tests can assert on what would deploy.
 */
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';

export const PROJECT = 'dynamodb-continuous-exports';
export const ACCOUNT_ID = '123456789012';
export const REGION = 'eu-west-1';

/** One registered resource as the engine would see it. */
export interface RecordedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Physical name as a plain string, when the resource has one. */
  physicalName?: string;
  /** Resource options as sent to the engine. */
  options: { ignoreChanges: string[]; retainOnDelete?: boolean; parentUrn: string; dependencies: string[] };
}

const SECRET_SIG = '4dabf18193072939515e22adb298388d';

/** Secret inputs reach mocks wrapped in a signature object; tests want the plain value. */
export function unwrapSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  // Asset archives carry their assets as a Promise; leave anything that is not plain data alone.
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    if (SECRET_SIG in value) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

function physicalNameOf(type: string, inputs: Record<string, any>): string | undefined {
  if (type === 'aws:s3/bucket:Bucket') return inputs.bucket;
  if (type === 'aws:cloudwatch/dashboard:Dashboard') return inputs.dashboardName;
  if (type === 'aws:cloudwatch/metricAlarm:MetricAlarm') return inputs.name;
  return typeof inputs.name === 'string' ? inputs.name : undefined;
}

function arnOf(type: string, name: string | undefined): string | undefined {
  const r = REGION;
  const a = ACCOUNT_ID;
  switch (type) {
    case 'aws:lambda/function:Function':
      return `arn:aws:lambda:${r}:${a}:function:${name}`;
    case 'aws:sns/topic:Topic':
      return `arn:aws:sns:${r}:${a}:${name}`;
    case 'aws:iam/role:Role':
      return `arn:aws:iam::${a}:role/${name}`;
    case 'aws:sfn/stateMachine:StateMachine':
      return `arn:aws:states:${r}:${a}:stateMachine:${name}`;
    case 'aws:cloudwatch/logGroup:LogGroup':
      return `arn:aws:logs:${r}:${a}:log-group:${name}`;
    case 'aws:s3/bucket:Bucket':
      return `arn:aws:s3:::${name}`;
    case 'aws:scheduler/schedule:Schedule':
      return `arn:aws:scheduler:${r}:${a}:schedule/default/${name}`;
    case 'aws:ssm/parameter:Parameter':
      return `arn:aws:ssm:${r}:${a}:parameter${name}`;
    default:
      return name ? `arn:aws:mock:${r}:${a}:${name}` : undefined;
  }
}

/** Installs mocks that record resources into `resources`. Call inside `before()`: mocks are process-wide. */
export async function installMocks(resources: RecordedResource[], stack: string): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = unwrapSecrets(args.inputs);
        const physicalName = physicalNameOf(args.type, inputs);
        const options = pendingOptions.get(`${args.type}::${args.name}`) ?? {
          ignoreChanges: [],
          parentUrn: '',
          dependencies: [],
        };
        resources.push({ type: args.type, name: args.name, inputs, physicalName, options });
        const arn = arnOf(args.type, physicalName);
        const state: Record<string, any> = { ...inputs, arn };
        if (args.type === 'aws:s3/bucket:Bucket') state.bucket = inputs.bucket;
        if (args.type === 'aws:cloudwatch/dashboard:Dashboard') state.dashboardName = inputs.dashboardName;
        return { id: physicalName ? `${physicalName}-id` : `${args.name}-id`, state };
      },
      call(args) {
        switch (args.token) {
          case 'aws:index/getCallerIdentity:getCallerIdentity':
            return {
              accountId: ACCOUNT_ID,
              arn: `arn:aws:iam::${ACCOUNT_ID}:user/test`,
              userId: 'AIDTEST',
              id: ACCOUNT_ID,
            };
          case 'aws:index/getRegion:getRegion':
            return {
              name: REGION,
              region: REGION,
              id: REGION,
              endpoint: `ec2.${REGION}.amazonaws.com`,
              description: '',
            };
          case 'aws:index/getPartition:getPartition':
            return {
              partition: 'aws',
              dnsSuffix: 'amazonaws.com',
              id: 'aws',
              reverseDnsPrefix: 'com.amazonaws',
            };
          default:
            throw new Error(`no mock answer for ${args.token}`);
        }
      },
    },
    PROJECT,
    stack,
    // preview=false: apply callbacks run, so rendered definitions and policies can be inspected.
    false,
  );
  // The mocks API does not show resource options (ignoreChanges, retainOnDelete, parent); the
  // registration request does, so record them from it before the mock sees the resource.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const monitor = (require('@pulumi/pulumi/runtime/settings') as any).getMonitor();
  const register = monitor.registerResource.bind(monitor);
  const pendingOptions = new Map<string, RecordedResource['options']>();
  monitor.registerResource = (req: any, callback: unknown) => {
    pendingOptions.set(`${req.getType()}::${req.getName()}`, {
      ignoreChanges: req.getIgnorechangesList(),
      retainOnDelete: req.hasRetainondelete?.() === false ? undefined : req.getRetainondelete(),
      parentUrn: req.getParent(),
      dependencies: req.getDependenciesList(),
    });
    return register(req, callback);
  };
}

/** Waits until every resource registration and output of the run has settled. */
export async function settle(...outputs: pulumi.Input<unknown>[]): Promise<void> {
  for (const o of outputs) await resolve(o);
  await (pulumi.runtime as any).waitForRPCs();
}

/** The value of an output (or plain value). */
export function resolve<T>(value: pulumi.Input<T>): Promise<T> {
  return new Promise((res) =>
    pulumi.output(value).apply((v) => {
      res(v as T);
      return v;
    }),
  );
}

/** Sets the whole stack config (keys without the project prefix get it). */
export function setStackConfig(config: Record<string, unknown>): void {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const full = key.includes(':') ? key : `${PROJECT}:${key}`;
    flat[full] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(flat);
}

const PROGRAM = path.resolve(__dirname, '..', '..', 'index.ts');

/** A finished run of the program: what registered, and the stack outputs. */
export interface ProgramRun {
  resources: RecordedResource[];
  outputs: Record<string, any>;
}

/**
 * Runs `index.ts` with `config` under mocks and returns the registered resources and the resolved
 * stack outputs. Rejects with the program's error (a ConfigError for a bad config); `resources`
 * then shows what had registered before it.
 */
export async function runProgram(
  config: Record<string, unknown>,
  stack = 'dev',
  resources: RecordedResource[] = [],
): Promise<ProgramRun> {
  await installMocks(resources, stack);
  setStackConfig(config);
  delete require.cache[require.resolve(PROGRAM)];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require(PROGRAM) as Record<string, unknown>;
  const outputs: Record<string, any> = {};
  for (const [key, value] of Object.entries(program)) outputs[key] = await resolveDeep(value);
  await settle();
  return { resources, outputs };
}

/** Resolves outputs nested in arrays and objects. */
export async function resolveDeep(value: unknown): Promise<any> {
  if (pulumi.Output.isInstance(value)) return resolveDeep(await resolve(value));
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  if (value && typeof value === 'object' && !(value instanceof pulumi.Resource)) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

/** Reads a stack config file (Pulumi.<stack>.yaml) into the flat key -> value map Pulumi uses. */
export function readStackConfigFile(file: string): Record<string, unknown> {
  // js-yaml: the YAML parser @pulumi/pulumi itself uses, pinned as a dev dependency (it ships no .d.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require('js-yaml') as { load(text: string): any };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const text = (require('node:fs') as typeof import('node:fs')).readFileSync(file, 'utf8');
  return (yaml.load(text) as { config: Record<string, unknown> }).config;
}

/** Resources of one type. */
export function ofType(resources: RecordedResource[], type: string): RecordedResource[] {
  return resources.filter((r) => r.type === type);
}

/** Parses a policy that reached the mock as a JSON string or an object. */
export function policyOf(value: unknown): any {
  return typeof value === 'string' ? JSON.parse(value) : value;
}
