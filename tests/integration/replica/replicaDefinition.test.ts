import { REPLICA_APPLY_HANDLER } from '../../../functions/shared/lambdaHandlers';
import { CallLog } from '../../../sim/fakeAws/service';
import { FakeSSM } from '../../../sim/fakeAws/ssm';
import { expect } from 'chai';
import { CreateTableCommand, ScanCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { seedReplicaParameters, testReplicaSettings } from '../../helpers/replicaSettings';
import { createReplicaHandler, type ReplicaEvent } from '../../../functions/replica/apply';
import { parseReplicaState } from '../../../functions/replica/state';
import type { Item } from '../../../format';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../../sim/servers';
import {
  canonicalTable,
  generateWorkload,
  WORKLOAD_KEY_SCHEMA,
  WORKLOAD_ATTRIBUTE_DEFINITIONS,
} from '../../../sim/workload';
import { renderReplicaDefinition, renderReplicaDefinitionString } from '../../../statemachine/render';
import { MemoryS3, contiguousWindows, writeChain } from '../../helpers/exportChain';

// asl-validator ships no type declarations and mutates its argument.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:dev-orders-copy-apply';
const STEPS = ['plan', 'applyGroup', 'applyFiles', 'commit', 'checkFailedEntry'];

function allStates(definition: any): [string, any][] {
  const out: [string, any][] = [];
  for (const [name, state] of Object.entries<any>(definition.States)) {
    out.push([name, state]);
    if (state.ItemProcessor) out.push(...allStates(state.ItemProcessor));
  }
  return out;
}

describe('replica state machine definition (statemachine/replica-apply.asl.json)', () => {
  const definition = renderReplicaDefinition({ ReplicaFunctionArn: ARN }) as any;
  const maps = Object.entries<any>(definition.States).filter(([, s]) => s.Type === 'Map');

  it('renders with no unresolved placeholder and passes asl-validator', () => {
    const text = renderReplicaDefinitionString({ ReplicaFunctionArn: ARN });
    expect(text).not.to.match(/\$\{/);
    const result = aslValidator(JSON.parse(text));
    expect(result.errors).to.deep.equal([]);
    expect(result.isValid).to.equal(true);
    expect(() => renderReplicaDefinition({ ReplicaFunctionArn: '' })).to.throw(/ReplicaFunctionArn/);
  });

  it('every Task invokes the replica function with a step the handler knows, and retries Lambda errors', () => {
    const tasks = allStates(definition).filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).to.equal(6);
    for (const [name, task] of tasks) {
      expect(task.Resource, name).to.equal('arn:aws:states:::lambda:invoke');
      expect(task.Parameters.FunctionName, name).to.equal(ARN);
      expect(STEPS, name).to.include(task.Parameters.Payload.step);
      expect(task.Retry[0].ErrorEquals, name).to.include('Lambda.TooManyRequestsException');
      // Transient AWS errors that persisted through the handler's own retries are retried here.
      expect(
        task.Retry.some((r: any) => r.ErrorEquals.includes('TransientAwsError')),
        name,
      ).to.equal(true);
      // Explicit, and longer than the function's own timeout, so the function's timeout decides, as
      // in AWS (where a Task has no timeout unless set); the local interpreter's default is 60 s.
      expect(task.TimeoutSeconds, name).to.be.greaterThan(REPLICA_APPLY_HANDLER.timeoutSeconds);
    }
    expect(new Set(tasks.map(([, t]) => t.Parameters.Payload.step))).to.deep.equal(new Set(STEPS));
  });

  it('has two Distributed Maps (Express and Standard children) reading manifest-files.json as JSON Lines', () => {
    expect(maps.map(([, m]) => m.ItemProcessor.ProcessorConfig)).to.deep.equal([
      { Mode: 'DISTRIBUTED', ExecutionType: 'EXPRESS' },
      { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
    ]);
    for (const [name, map] of maps) {
      expect(map.ItemReader, name).to.deep.equal({
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSONL' },
        Parameters: { 'Bucket.$': '$.plan.reader.Bucket', 'Key.$': '$.plan.reader.Key' },
      });
      // Each item as the handler's DataFileItem: the data file line, its entry, the format and the
      // child's work (claim, rate, budget).
      expect(map.ItemSelector, name).to.deep.equal({
        'file.$': '$$.Map.Item.Value',
        'entry.$': '$.plan.entry',
        'format.$': '$.plan.format',
        'child.$': '$.plan.child',
      });
      // Batches sized by the plan step from the files' records and the child's rate.
      expect(map.ItemBatcher.MaxItemsPerBatchPath, name).to.equal('$.plan.filesPerBatch');
      expect(map.ItemBatcher.MaxInputBytesPerBatch, name).to.be.at.most(262_144);
      expect(map.MaxConcurrencyPath, name).to.equal('$.plan.concurrency');
      expect(map.ToleratedFailurePercentage, name).to.equal(0);
      // Map results are discarded: thousands of children must not exceed the 256 KiB payload.
      expect(map.ResultPath, name).to.equal(null);
      expect(map.Catch, name).to.deep.equal([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Check the failed entry' },
      ]);
      expect(map.Next, name).to.equal('Record the entry applied');
      // A child chains its invocations, each from where the previous one stopped, and returns nothing.
      const kind = map.ItemProcessor.ProcessorConfig.ExecutionType === 'EXPRESS' ? 'Express' : 'Standard';
      const states = map.ItemProcessor.States;
      const start = states[map.ItemProcessor.StartAt];
      expect(start.Parameters).to.deep.equal({ 'Items.$': '$.Items', progress: { done: false, from: null } });
      const apply = states[start.Next];
      expect(apply.Parameters.Payload).to.deep.equal({
        step: 'applyFiles',
        'Items.$': '$.Items',
        'from.$': '$.progress.from',
      });
      expect(apply.ResultSelector).to.deep.equal({
        'done.$': '$.Payload.done',
        'from.$': '$.Payload.resume',
      });
      expect(apply.ResultPath).to.equal('$.progress');
      const check = states[apply.Next];
      expect(check.Choices).to.deep.equal([
        { Variable: '$.progress.done', BooleanEquals: true, Next: `Batch applied (${kind})` },
      ]);
      expect(states[`Batch applied (${kind})`]).to.include({ Type: 'Pass', End: true });
      expect(states[`Batch applied (${kind})`].Result).to.deep.equal({});
      // Standard: the next invocation; Express (one invocation's time): fail, to be applied in Standard children.
      if (kind === 'Standard') expect(check.Default).to.equal(start.Next);
      else expect(states[check.Default]).to.include({ Type: 'Fail', Error: 'ReplicaBatchUnfinished' });
    }
  });

  it('routes every plan action, and every Next names a state that exists', () => {
    const choice = definition.States['What next?'];
    const routed = Object.fromEntries(choice.Choices.map((c: any) => [c.StringEquals, c.Next]));
    expect(routed).to.deep.equal({
      APPLY_GROUP: 'Apply entries together',
      APPLY_DISTRIBUTED: 'Which children?',
      REBASELINE: 'Plan the next step',
      CONTINUE: 'Plan the next step',
      HALT: 'Replica halted',
    });
    expect(choice.Default).to.equal('Nothing to apply now');
    const names = new Set(Object.keys(definition.States));
    for (const [name, state] of Object.entries<any>(definition.States)) {
      const targets = [
        state.Next,
        state.Default,
        ...(state.Choices ?? []).map((c: any) => c.Next),
        ...(state.Catch ?? []).map((c: any) => c.Next),
      ];
      for (const t of targets.filter(Boolean)) expect(names.has(t), `${name} -> ${t}`).to.equal(true);
    }
  });

  describe('the grouped path, run by aws-local-stepfunctions with the real apply Lambda code', () => {
    let ddb: LocalDynamoDb;
    before(async () => {
      ddb = await startLocalDynamoDb();
    });
    after(async () => ddb?.stop());

    it('keeps a replica in dynalite identical to the source through the real definition', async () => {
      const start = Date.UTC(2026, 10, 3, 1) / 1000;
      const windows = contiguousWindows(start, 900, 8);
      const end = windows[windows.length - 1][1];
      const source = generateWorkload({
        from: start - 3600,
        to: end,
        writesPerMinute: 6,
        seed: 5,
        keySpace: 60,
      });
      const s3 = new MemoryS3();
      await writeChain({ s3, bucket: 'b', prefix: 'p', table: source, start, windows });
      await ddb.client.send(
        new CreateTableCommand({
          TableName: 'copy',
          KeySchema: WORKLOAD_KEY_SCHEMA,
          AttributeDefinitions: WORKLOAD_ATTRIBUTE_DEFINITIONS,
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      // dynalite activates a new table on a 0 ms timer: at once, unless the machine is busy.
      await waitUntilTableExists({ client: ddb.client, maxWaitTime: 30, minDelay: 1 }, { TableName: 'copy' });
      const ssm = new FakeSSM(new CallLog(), () => Date.now(), 'eu-west-1', '123456789012');
      const settings = testReplicaSettings({
        bucket: 'b',
        prefix: 'p',
        targetTableName: 'copy',
        concurrency: 4,
      });
      seedReplicaParameters(ssm, settings);
      const lambda = createReplicaHandler(
        settings,
        { s3, ssm, sns: { send: async () => ({}) }, target: ddb.client },
        { log: () => undefined },
      );
      const { StateMachine } = await import('aws-local-stepfunctions');
      const machine = new StateMachine(definition);
      const handlers: Record<string, (input: any) => Promise<any>> = {};
      for (const [name, state] of Object.entries<any>(definition.States)) {
        if (state.Type === 'Task')
          handlers[name] = async (input) => ({ Payload: await lambda(input.Payload as ReplicaEvent) });
      }
      const execution = machine.run(
        {},
        {
          overrides: { taskResourceLocalHandlers: handlers },
          context: { Execution: { Id: 'arn:aws:states:eu-west-1:123456789012:execution:copy:1' } } as any,
        },
      );
      const output = await execution.result;
      const entered: string[] = [];
      for await (const event of execution.eventLogs as AsyncIterable<any>)
        if (event.type === 'StateEntered') entered.push(event.state.name);
      expect(entered).to.deep.equal([
        'Plan the next step',
        'What next?',
        'Apply entries together',
        'Plan the next step',
        'What next?',
        'Nothing to apply now',
      ]);
      expect((output as any).plan.action).to.equal('IDLE');
      expect(parseReplicaState(ssm.get(settings.stateParameterName)!)).to.include({
        lastAppliedSequence: 8,
        watermark: end,
      });
      const scanned = await ddb.client.send(new ScanCommand({ TableName: 'copy' }));
      expect(canonicalTable((scanned.Items ?? []) as Item[])).to.deep.equal(
        canonicalTable(source.snapshotBefore(end)),
      );
    });
  });
});
