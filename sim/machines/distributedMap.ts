/**
 * The one place where a Distributed Map is emulated. aws-local-stepfunctions does not run Distributed
 * Map (docs in ../shared/reference: local-asl-interpreter.md), so before a definition is loaded each
 * Map state whose ItemProcessor runs in `DISTRIBUTED` mode becomes a Task state with the same InputPath,
 * ResultSelector, ResultPath, Retry, Catch and Next (and no timeout of its own), served locally by
 * `runDistributedMap`, which does
 * what Step Functions does for the fields the project's definitions use:
 *
 * - ItemReader: `arn:aws:states:::s3:getObject` with ReaderConfig InputType `JSONL` (one item per
 *   non-empty line) or `JSON` (an array), Parameters resolved against the state input, MaxItems;
 * - ItemSelector: a payload template resolved per item, with `$$.Map.Item.Value` and `$$.Map.Item.Index`;
 * - ItemBatcher: MaxItemsPerBatch and MaxInputBytesPerBatch, or their `…Path` read from the state
 *   input; each child gets `{ "Items": [...] }` (plus BatchInput);
 * - MaxConcurrency / MaxConcurrencyPath (0 = no limit);
 * - ToleratedFailurePercentage / ToleratedFailureCount: beyond them the state fails with
 *   `States.ExceedToleratedFailureThreshold`, which the state's Catch sees. No new child starts after
 *   that; children already running finish (AWS stops them);
 * - children: the definition's own ItemProcessor, run by the interpreter as a separate execution
 *   (of the ProcessorConfig's ExecutionType) with the machine's Lambda handler; the state's output is
 *   the array of the children's outputs.
 *
 * And Step Functions' limits (sim/limits.ts): an item source that cannot be read (a missing or denied
 * object, a line or document that is not JSON, not an array) fails the state with
 * `States.ItemReaderFailed`, which its Catch sees; children's outputs that together pass 256 KiB fail
 * the execution with `States.DataLimitExceeded` (terminal, as the Map has no ResultWriter).
 *
 * Anything else (another reader, ResultWriter, a path that is not a plain dotted path) is refused
 * with an error naming the field, so a template change that needs more fails here loudly instead of
 * running differently from AWS. The definition's Distributed Map fields are checked structurally
 * against AWS's rules by asl-validator in tests/integration/replica/replicaDefinition.test.ts.
 */
import type { StateMachine, StateMachineDefinition } from 'aws-local-stepfunctions';
import type { ExecutionType } from './executionLimits';
import { checkStatesPayload, itemReaderFailed } from '../limits';

/** Resource of the Task that stands in for a Distributed Map while the definition runs locally. */
export const LOCAL_DISTRIBUTED_MAP_RESOURCE = 'arn:aws:states:::local:distributedMap';

type Json = unknown;
type StateJson = Record<string, unknown>;

/** A Distributed Map state of the definition, as the emulation reads it. */
export interface DistributedMapState {
  name: string;
  state: StateJson;
  /** The ItemProcessor as a definition of its own: `{ StartAt, States }`. */
  processor: { StartAt: string; States: Record<string, StateJson> };
  /** The children's type (ProcessorConfig.ExecutionType). */
  executionType: ExecutionType;
  /** The processor's machine, validated once. */
  machine(interpreter: typeof import('aws-local-stepfunctions')): StateMachine;
}

/** How one child ended. */
export type ChildRun = { ok: true; output: unknown } | { ok: false; error: string; cause: string };

export interface DistributedMapContext {
  executionId: string;
  readObject: (bucket: string, key: string) => Promise<string>;
  runChild: (input: unknown, childName: string) => Promise<ChildRun>;
}

/**
 * The stand-in Task's timeout. A Map state has none (only its children and the execution do), but
 * the interpreter times a Task out after 60 s unless it says otherwise: this is the longest its
 * timer can hold (2^31 - 1 ms, about 24.8 days; a longer delay would fire at once), so a long Map run
 * is not cut short.
 */
export const MAP_STAND_IN_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** The fields of a Map state that are carried over to its stand-in Task unchanged. */
const CARRIED = [
  'Comment',
  'InputPath',
  'OutputPath',
  'ResultSelector',
  'ResultPath',
  'Retry',
  'Catch',
  'Next',
  'End',
];

/**
 * The definition with each Distributed Map replaced by its stand-in Task (pure), and the maps by
 * state name. Inline Maps and every other state are left as they are.
 */
export function localDistributedMaps(definition: Record<string, unknown>): {
  definition: Record<string, unknown>;
  maps: Map<string, DistributedMapState>;
} {
  const states = definition.States as Record<string, StateJson>;
  const maps = new Map<string, DistributedMapState>();
  const replaced: Record<string, StateJson> = {};
  for (const [name, state] of Object.entries(states)) {
    const processor = state.ItemProcessor as
      | {
          ProcessorConfig?: { Mode?: string; ExecutionType?: string };
          StartAt: string;
          States: Record<string, StateJson>;
        }
      | undefined;
    if (state.Type !== 'Map' || processor?.ProcessorConfig?.Mode !== 'DISTRIBUTED') {
      replaced[name] = state;
      continue;
    }
    if (state.ResultWriter) throw unsupported(name, 'ResultWriter');
    if (state.ItemsPath) throw unsupported(name, 'ItemsPath (a Distributed Map here reads with ItemReader)');
    const task: StateJson = {
      Type: 'Task',
      Resource: LOCAL_DISTRIBUTED_MAP_RESOURCE,
      TimeoutSeconds: MAP_STAND_IN_TIMEOUT_SECONDS,
    };
    for (const field of CARRIED) if (field in state) task[field] = state[field];
    replaced[name] = task;
    const executionType = processor.ProcessorConfig?.ExecutionType;
    if (executionType !== 'STANDARD' && executionType !== 'EXPRESS')
      throw unsupported(name, `ProcessorConfig.ExecutionType ${String(executionType)}`);
    const processorDefinition = { StartAt: processor.StartAt, States: processor.States };
    let machine: StateMachine | undefined;
    maps.set(name, {
      name,
      state,
      processor: processorDefinition,
      executionType,
      machine: (interpreter) =>
        (machine ??= new interpreter.StateMachine(processorDefinition as unknown as StateMachineDefinition)),
    });
  }
  return { definition: { ...definition, States: replaced }, maps };
}

function unsupported(state: string, what: string): Error {
  return new Error(
    `Distributed Map ${state}: ${what} is not emulated locally (sim/machines/distributedMap.ts)`,
  );
}

/** Resolves a plain dotted path (`$.a.b`, `$$.Map.Item.Value`); anything else is refused. */
export function resolvePath(path: string, input: Json, context: Json, where: string): Json {
  const match = /^(\$\$?)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/.exec(path);
  if (!match) throw new Error(`${where}: path ${JSON.stringify(path)} is not a plain dotted path`);
  let value = match[1] === '$$' ? context : input;
  for (const part of match[2].split('.').slice(1)) {
    if (value === null || typeof value !== 'object' || !(part in value)) {
      // As in Step Functions: a path that selects nothing fails the state.
      const error = new Error(`${where}: ${path} selects nothing`);
      error.name = 'States.Runtime';
      throw error;
    }
    value = (value as Record<string, Json>)[part];
  }
  return value;
}

/** Resolves a payload template: keys ending in `.$` take a path's value, objects recursively. */
export function resolveTemplate(template: Json, input: Json, context: Json, where: string): Json {
  if (Array.isArray(template)) return template.map((t) => resolveTemplate(t, input, context, where));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(template)) {
    if (key.endsWith('.$')) {
      if (typeof value !== 'string') throw new Error(`${where}: ${key} must be a path`);
      out[key.slice(0, -2)] = resolvePath(value, input, context, `${where}.${key}`);
    } else {
      out[key] = resolveTemplate(value, input, context, `${where}.${key}`);
    }
  }
  return out;
}

/** The items the ItemReader reads. */
async function readItems(map: DistributedMapState, input: Json, ctx: DistributedMapContext): Promise<Json[]> {
  const reader = map.state.ItemReader as
    | { Resource?: string; ReaderConfig?: { InputType?: string; MaxItems?: number }; Parameters?: Json }
    | undefined;
  if (!reader) throw unsupported(map.name, 'a Distributed Map without ItemReader');
  if (reader.Resource !== 'arn:aws:states:::s3:getObject')
    throw unsupported(map.name, `ItemReader ${reader.Resource}`);
  const where = `${map.name}.ItemReader.Parameters`;
  const params = resolveTemplate(reader.Parameters ?? {}, input, {}, where) as { Bucket?: Json; Key?: Json };
  if (typeof params.Bucket !== 'string' || typeof params.Key !== 'string') {
    throw new Error(`${where}: Bucket and Key must resolve to strings`);
  }
  const type = reader.ReaderConfig?.InputType;
  if (type !== 'JSONL' && type !== 'JSON')
    throw unsupported(map.name, `ReaderConfig.InputType ${String(type)}`);
  const source = `s3://${params.Bucket}/${params.Key}`;
  let text: string;
  try {
    text = await ctx.readObject(params.Bucket, params.Key);
  } catch (error) {
    const e = error as Error;
    throw itemReaderFailed(map.name, `${source}: ${e?.name ?? 'Error'}: ${e?.message ?? String(error)}`);
  }
  const items = type === 'JSONL' ? parseJsonLines(map.name, source, text) : parseJson(map.name, source, text);
  if (!Array.isArray(items)) throw itemReaderFailed(map.name, `${source}: the document is not a JSON array`);
  const max = reader.ReaderConfig?.MaxItems;
  return typeof max === 'number' && max > 0 ? items.slice(0, max) : items;
}

/** One item per non-empty line; a line that is not JSON fails the reader. */
function parseJsonLines(state: string, source: string, text: string): Json[] {
  const items: Json[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    try {
      items.push(JSON.parse(lines[i]) as Json);
    } catch (error) {
      throw itemReaderFailed(state, `${source}: line ${i + 1} is not JSON (${(error as Error).message})`);
    }
  }
  return items;
}

function parseJson(state: string, source: string, text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw itemReaderFailed(state, `${source}: not JSON (${(error as Error).message})`);
  }
}

/** Groups selected items into the children's inputs, as ItemBatcher does (pure). */
export function batchItems(
  items: Json[],
  batcher: Record<string, unknown> | undefined,
  batchInput: Json,
): Json[] {
  if (!batcher) return items;
  const maxItems = typeof batcher.MaxItemsPerBatch === 'number' ? batcher.MaxItemsPerBatch : Infinity;
  const maxBytes =
    typeof batcher.MaxInputBytesPerBatch === 'number' ? batcher.MaxInputBytesPerBatch : Infinity;
  const batches: Json[][] = [];
  let current: Json[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item));
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches.map((Items) => (batchInput === undefined ? { Items } : { BatchInput: batchInput, Items }));
}

/** ItemBatcher with its `MaxItemsPerBatchPath` and `MaxInputBytesPerBatchPath` read from `input`. */
export function resolveBatcher(
  state: string,
  batcher: Record<string, unknown> | undefined,
  input: Json,
): Record<string, unknown> | undefined {
  if (!batcher) return batcher;
  const resolved = { ...batcher };
  for (const field of ['MaxItemsPerBatch', 'MaxInputBytesPerBatch']) {
    const path = batcher[`${field}Path`];
    if (path === undefined) continue;
    if (typeof path !== 'string') throw new Error(`${state}.ItemBatcher.${field}Path must be a path`);
    const value = resolvePath(path, input, {}, `${state}.ItemBatcher.${field}Path`);
    // As in Step Functions: the value a path selects must be a positive integer.
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      const error = new Error(`${state}.ItemBatcher.${field}Path: ${path} is not a positive integer`);
      error.name = 'States.Runtime';
      throw error;
    }
    resolved[field] = value;
    delete resolved[`${field}Path`];
  }
  return resolved;
}

/** Runs one Distributed Map state for `input` (the state's effective input); resolves to its output. */
export async function runDistributedMap(
  map: DistributedMapState,
  input: Json,
  ctx: DistributedMapContext,
): Promise<Json[]> {
  const state = map.state;
  const items = await readItems(map, input, ctx);
  const selected = items.map((value, index) =>
    state.ItemSelector === undefined
      ? value
      : resolveTemplate(
          state.ItemSelector,
          input,
          { Map: { Item: { Value: value, Index: index } } },
          `${map.name}.ItemSelector`,
        ),
  );
  const batcher = resolveBatcher(map.name, state.ItemBatcher as Record<string, unknown> | undefined, input);
  const batchInput =
    batcher?.BatchInput === undefined
      ? undefined
      : resolveTemplate(batcher.BatchInput, input, {}, `${map.name}.BatchInput`);
  const childInputs = batchItems(selected, batcher, batchInput);

  const concurrencyValue =
    typeof state.MaxConcurrencyPath === 'string'
      ? resolvePath(state.MaxConcurrencyPath, input, {}, `${map.name}.MaxConcurrencyPath`)
      : (state.MaxConcurrency ?? 0);
  const concurrency =
    typeof concurrencyValue === 'number' && concurrencyValue > 0 ? concurrencyValue : Infinity;
  const toleratedPercent =
    typeof state.ToleratedFailurePercentage === 'number' ? state.ToleratedFailurePercentage : 0;
  const toleratedCount = typeof state.ToleratedFailureCount === 'number' ? state.ToleratedFailureCount : 0;
  const tolerated = Math.max(toleratedCount, Math.floor((toleratedPercent / 100) * childInputs.length));

  const outputs: Json[] = new Array(childInputs.length);
  let next = 0;
  let failures = 0;
  let firstFailure: Extract<ChildRun, { ok: false }> | undefined;
  const worker = async () => {
    while (next < childInputs.length && failures <= tolerated) {
      const index = next++;
      const run = await ctx.runChild(childInputs[index], `child-${String(index).padStart(5, '0')}`);
      if (run.ok) outputs[index] = run.output;
      else {
        failures += 1;
        firstFailure ??= run;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, childInputs.length)) }, worker));
  if (failures > tolerated) {
    const error = new Error(
      `${failures} of ${childInputs.length} child executions failed (tolerated ${tolerated}); first: ${firstFailure?.error}: ${firstFailure?.cause}`,
    );
    error.name = 'States.ExceedToleratedFailureThreshold';
    throw error;
  }
  // Without a ResultWriter the children's outputs are the state's result, under the payload limit.
  checkStatesPayload('result', map.name, outputs);
  return outputs;
}
