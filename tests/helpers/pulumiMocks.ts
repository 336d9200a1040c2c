/**
 * Runs Pulumi code under `pulumi.runtime.setMocks` (no CLI, no provider) and records every resource
 * with its inputs, so tests can assert on what would deploy.
 */
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import {
  arnOf,
  mockCall,
  physicalNameOf,
  PROJECT,
  resolve,
  resolveDeep,
  setStackConfig,
  unwrapSecrets,
} from '../../cli/stackUnderMocks';

export { PROJECT, resolve, resolveDeep, setStackConfig, unwrapSecrets };
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

const TARGET = { stack: 'dev', region: REGION, account: ACCOUNT_ID };

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
        const arn = arnOf(TARGET, args.type, physicalName, args.name);
        const state: Record<string, any> = { ...inputs, arn };
        // AWS names a bucket created with only a bucketPrefix: the prefix and a unique suffix.
        if (args.type === 'aws:s3/bucket:Bucket')
          state.bucket =
            inputs.bucket ?? (inputs.bucketPrefix ? `${inputs.bucketPrefix}mock0000` : undefined);
        if (args.type === 'aws:cloudwatch/dashboard:Dashboard') state.dashboardName = inputs.dashboardName;
        return { id: physicalName ? `${physicalName}-id` : `${args.name}-id`, state };
      },
      call: (args) => mockCall(TARGET, args.token),
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
  return withPlainStacks(async () => {
    await installMocks(resources, stack);
    setStackConfig(config);
    delete require.cache[require.resolve(PROGRAM)];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(PROGRAM) as Record<string, unknown>;
    const outputs: Record<string, any> = {};
    for (const [key, value] of Object.entries(program)) outputs[key] = await resolveDeep(value);
    await settle();
    return { resources, outputs };
  });
}

/**
 * Runs `fn` (Pulumi code under mocks) with Node's source-mapped stack traces off. Pulumi records a
 * stack trace for every promise it makes (for its report of leaked promises); mapping each one
 * through the source maps tsx registers costs more than the run itself. No test reads those
 * stacks, and the stack of a failing assertion outside `fn` is mapped as usual.
 */
export async function withPlainStacks<T>(fn: () => Promise<T>): Promise<T> {
  const mapped = process.sourceMapsEnabled;
  process.setSourceMapsEnabled(false);
  try {
    return await fn();
  } finally {
    process.setSourceMapsEnabled(mapped);
  }
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
