/**
 * The Pulumi program (`index.ts`) run under Pulumi's mocks, without the CLI or a provider: every
 * resource `pulumi up` would register for a stack config, with its inputs as rendered (policies,
 * definitions, Lambda environments), and the stack outputs. The offline system runs with the IAM
 * policies and settings read from here, so what it evaluates is what deploys.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- resource inputs and outputs are whatever the program registered: untyped JSON */
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';

export const PROJECT = 'dynamodb-continuous-exports';

/** One registered resource as the engine would see it. */
export interface MockedResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** Physical name as a plain string, when the resource has one. */
  physicalName?: string;
}

/** Where the mocked stack is deployed. */
export interface MockTarget {
  stack: string;
  region: string;
  account: string;
}

const SECRET_SIG = '4dabf18193072939515e22adb298388d';

/** Secret inputs reach mocks wrapped in a signature object; readers want the plain value. */
export function unwrapSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  // Asset archives carry their assets as a Promise; leave anything that is not plain data alone.
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    if (SECRET_SIG in value) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

export function physicalNameOf(type: string, inputs: Record<string, any>): string | undefined {
  if (type === 'aws:s3/bucket:Bucket') return inputs.bucket;
  if (type === 'aws:cloudwatch/dashboard:Dashboard') return inputs.dashboardName;
  if (type === 'aws:cloudwatch/metricAlarm:MetricAlarm') return inputs.name;
  return typeof inputs.name === 'string' ? inputs.name : undefined;
}

/** The ARN AWS would give a resource of `type` named `name`. */
export function arnOf(
  target: MockTarget,
  type: string,
  name: string | undefined,
  logicalName?: string,
): string | undefined {
  const r = target.region;
  const a = target.account;
  switch (type) {
    case 'aws:kms/key:Key':
      // A key has no name: AWS gives it an id; the logical name stands in, so each key's ARN differs.
      return `arn:aws:kms:${r}:${a}:key/${logicalName ?? name}`;
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

/** The answers of the provider functions the program calls (account, Region, partition). */
export function mockCall(target: MockTarget, token: string): Record<string, unknown> {
  const { region, account } = target;
  switch (token) {
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { accountId: account, arn: `arn:aws:iam::${account}:user/test`, userId: 'AIDTEST', id: account };
    case 'aws:index/getRegion:getRegion':
      return { name: region, region, id: region, endpoint: `ec2.${region}.amazonaws.com`, description: '' };
    case 'aws:index/getPartition:getPartition':
      return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws', reverseDnsPrefix: 'com.amazonaws' };
    default:
      throw new Error(`no mock answer for ${token}`);
  }
}

/** Installs mocks that record resources into `resources`. Mocks are process-wide. */
export async function installStackMocks(resources: MockedResource[], target: MockTarget): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = unwrapSecrets(args.inputs);
        const physicalName = physicalNameOf(args.type, inputs);
        resources.push({ type: args.type, name: args.name, inputs, physicalName });
        const state: Record<string, any> = {
          ...inputs,
          arn: arnOf(target, args.type, physicalName, args.name),
        };
        // A bucket named by a prefix gets a name as AWS would give it: the prefix and a unique suffix.
        if (args.type === 'aws:s3/bucket:Bucket')
          state.bucket =
            inputs.bucket ?? (inputs.bucketPrefix ? `${inputs.bucketPrefix}00000001` : undefined);
        if (args.type === 'aws:cloudwatch/dashboard:Dashboard') state.dashboardName = inputs.dashboardName;
        return { id: physicalName ? `${physicalName}-id` : `${args.name}-id`, state };
      },
      call: (args) => mockCall(target, args.token),
    },
    PROJECT,
    target.stack,
    // preview=false: apply callbacks run, so rendered definitions and policies can be read.
    false,
  );
}

/** Sets the whole stack config (keys without a namespace get the project's). */
export function setStackConfig(config: Record<string, unknown>): void {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const full = key.includes(':') ? key : `${PROJECT}:${key}`;
    flat[full] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  pulumi.runtime.setAllConfig(flat);
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

const PROGRAM = path.resolve(__dirname, '..', 'index.ts');

/** A finished run of the program: what registered, and the stack outputs. */
export interface MockedStack {
  resources: MockedResource[];
  outputs: Record<string, any>;
}

/**
 * Runs `index.ts` with `config` under mocks. Rejects with the program's error (a ConfigError for a
 * bad config).
 */
export async function runProgramUnderMocks(
  config: Record<string, unknown>,
  target: MockTarget,
  resources: MockedResource[] = [],
): Promise<MockedStack> {
  await installStackMocks(resources, target);
  setStackConfig(config);
  delete require.cache[require.resolve(PROGRAM)];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const program = require(PROGRAM) as Record<string, unknown>;
  const outputs: Record<string, any> = {};
  for (const [key, value] of Object.entries(program)) outputs[key] = await resolveDeep(value);
  await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  return { resources, outputs };
}
