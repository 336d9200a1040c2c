/**
 * Step Functions' limits in the offline AWS (sim/limits.ts): 256 KiB state input, output and task
 * results (sim/machines/executionLimits.ts, sim/machines/localMachine.ts), 25,000 history events for a Standard
 * execution, 5 minutes for an Express child of a Distributed Map, and the Distributed Map's item
 * reader and collected results (sim/machines/distributedMap.ts). Each limit is crossed and fails the way Step
 * Functions reports it; the terminal ones are not caught by a `States.ALL` Catch.
 */
import { expect } from 'chai';
import { STANDARD_HISTORY_EVENT_LIMIT, STATES_PAYLOAD_LIMIT_BYTES } from '../../../sim/limits';
import type { MachineSpec } from '../../../sim/machines/localRun';
import { renderReplicaDefinition } from '../../../statemachine/render';
import { hostRun } from '../../helpers/hostRun';

const FUNCTION = 'arn:aws:lambda:eu-west-1:123456789012:function:dev-orders-copy-apply';
const START = Date.parse('2026-05-01T00:00:00Z');
const LAMBDA = 'arn:aws:states:::lambda:invoke';
/** A string that, with its quotes and the JSON around it, takes about `kib` KiB. */
const blob = (kib: number) => 'x'.repeat(kib * 1024);

/** Runs one execution of `definition` with `input`; the handler serves every Lambda task. */
async function runOnce(
  definition: Record<string, unknown>,
  input: Record<string, unknown>,
  handler: (event: any) => Promise<unknown>,
  spec: Partial<MachineSpec> = {},
) {
  const run = await hostRun(START);
  try {
    const machine = run.addMachine({
      name: 'limits',
      definition,
      functionArn: FUNCTION,
      lambdaTimeoutSeconds: 900,
      schedulePeriodMinutes: 15,
      handler: handler as never,
      ...spec,
    });
    const record = machine.startExecution(input)!;
    await run.runFor(3600_000);
    return { record, invocations: machine.invocations };
  } finally {
    await run.dispose();
  }
}

/** A Lambda task whose Catch (States.ALL) leads to a Pass state, so a caught error is visible. */
function taskWithCatch(task: Record<string, unknown>) {
  return {
    StartAt: 'Call',
    States: {
      Call: {
        Type: 'Task',
        Resource: LAMBDA,
        Parameters: { FunctionName: FUNCTION, 'Payload.$': '$' },
        ...task,
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', Result: 'caught', End: true },
    },
  };
}

describe('Step Functions limits (sim/limits.ts)', () => {
  describe('256 KiB of state input and output', () => {
    it('a Lambda result over 256 KiB fails the execution with States.DataLimitExceeded, which States.ALL does not catch', async () => {
      const big = await runOnce(
        taskWithCatch({ ResultSelector: { 'size.$': '$.StatusCode' } }),
        {},
        async () => blob(257),
      );
      expect(big.record.status).to.equal('FAILED');
      expect(big.record.error).to.equal('States.DataLimitExceeded');
      expect(big.record.cause).to.match(/^The state\/task 'Call' returned a result with a size exceeding/);
      expect(big.record.caught).to.deep.equal([]);
      expect(big.record.statesEntered).to.deep.equal({ Call: 1 });

      const fits = await runOnce(
        taskWithCatch({ ResultSelector: { 'size.$': '$.StatusCode' } }),
        {},
        async () => blob(255),
      );
      expect(fits.record.status).to.equal('SUCCEEDED');
      expect(fits.record.output).to.deep.equal({ size: 200 });
    });

    it("a state's output over 256 KiB after ResultPath fails the execution: the input and the result each fit", async () => {
      const definition = taskWithCatch({ ResultPath: '$.result' });
      const merged = await runOnce(definition, { carried: blob(150) }, async () => blob(150));
      expect(merged.invocations).to.have.length(1);
      expect(merged.record.error).to.equal('States.DataLimitExceeded');
      expect(merged.record.cause).to.match(
        /^The state\/task 'Call' returned an output with a size exceeding/,
      );
      expect(merged.record.caught).to.deep.equal([]);

      const small = await runOnce(definition, { carried: blob(100) }, async () => blob(100));
      expect(small.record.status).to.equal('SUCCEEDED');
    });

    it("an execution's input, or a task's parameters, over 256 KiB fail before any Lambda runs", async () => {
      const definition = taskWithCatch({
        Parameters: { FunctionName: FUNCTION, Payload: { 'first.$': '$.half', 'second.$': '$.half' } },
      });
      const input = await runOnce(definition, { half: blob(260) }, async () => 'ok');
      expect(input.record.error).to.equal('States.DataLimitExceeded');
      expect(input.record.cause).to.match(/^The state\/task 'Call' received an input with a size exceeding/);
      expect(input.invocations).to.have.length(0);

      const parameters = await runOnce(definition, { half: blob(140) }, async () => 'ok');
      expect(parameters.record.error).to.equal('States.DataLimitExceeded');
      expect(parameters.invocations).to.have.length(0);

      const fits = await runOnce(definition, { half: blob(100) }, async () => 'ok');
      expect(fits.record.status).to.equal('SUCCEEDED');
      expect(fits.invocations).to.have.length(1);
    });
  });

  describe('25,000 history events for a Standard execution', function () {
    this.timeout(120_000);
    // Count (Pass) -> Again? (Choice) -> Count ...: 4 history events a round.
    const loop = {
      StartAt: 'Count',
      States: {
        Count: {
          Type: 'Pass',
          Parameters: { 'n.$': 'States.MathAdd($.n, 1)', 'max.$': '$.max' },
          Next: 'Again?',
        },
        'Again?': {
          Type: 'Choice',
          Choices: [{ Variable: '$.n', NumericLessThanPath: '$.max', Next: 'Count' }],
          Default: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    };
    const noLambda = async () => null;

    it('counts the events AWS records: a Lambda task and a Succeed state make 9', async () => {
      const { record } = await runOnce(
        {
          StartAt: 'Call',
          States: {
            Call: { Type: 'Task', Resource: LAMBDA, Parameters: { FunctionName: FUNCTION }, Next: 'Done' },
            Done: { Type: 'Succeed' },
          },
        },
        {},
        async () => 'ok',
      );
      // ExecutionStarted, TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited,
      // SucceedStateEntered, SucceedStateExited, ExecutionSucceeded.
      expect(record.historyEvents).to.equal(9);
    });

    it('a Standard execution past 25,000 events fails with States.Runtime; an Express one does not', async () => {
      const long = await runOnce(loop, { n: 0, max: 7000 }, noLambda);
      expect(long.record.status).to.equal('FAILED');
      expect(long.record.error).to.equal('States.Runtime');
      expect(long.record.cause).to.equal(
        'The execution reached the maximum number of history events (25000).',
      );
      // Its ExecutionFailed event is the 25,000th: the Choice state that would have been is not entered.
      expect(long.record.historyEvents).to.equal(STANDARD_HISTORY_EVENT_LIMIT);
      expect(long.record.statesEntered['Again?']).to.equal(6249);
      expect(long.record.statesEntered.Count).to.equal(6250);

      const shorter = await runOnce(loop, { n: 0, max: 6000 }, noLambda);
      expect(shorter.record.status).to.equal('SUCCEEDED');
      expect(shorter.record.historyEvents).to.equal(2 + 4 * 6000 + 2);

      const express = await runOnce(loop, { n: 0, max: 7000 }, noLambda, { type: 'EXPRESS' });
      expect(express.record.status).to.equal('SUCCEEDED');
    });
  });

  describe('the Distributed Map (sim/machines/distributedMap.ts)', () => {
    type Files = { dataFileS3Key: string; itemCount: number }[];
    const FILES: Files = Array.from({ length: 10 }, (_, i) => ({
      dataFileS3Key: `data/${i}.json.gz`,
      itemCount: i,
    }));
    const MANIFEST = FILES.map((f) => JSON.stringify(f)).join('\n') + '\n';

    /**
     * A Distributed Map whose children return their Lambda's answer, so the collected results grow
     * with it (the replica's own children return nothing, tests/integration/workflow/distributedMap.test.ts).
     */
    function collectingDefinition(childType: 'EXPRESS' | 'STANDARD') {
      const replica = renderReplicaDefinition({ ReplicaFunctionArn: FUNCTION }) as any;
      const kind = childType === 'EXPRESS' ? 'Express' : 'Standard';
      const map = replica.States[`Apply data files in ${kind} children`];
      return {
        StartAt: 'Plan the next step',
        States: {
          'Plan the next step': { ...replica.States['Plan the next step'], Next: 'Map' },
          Map: {
            ...map,
            ItemBatcher: { MaxItemsPerBatch: 4 },
            ItemProcessor: {
              ProcessorConfig: map.ItemProcessor.ProcessorConfig,
              StartAt: 'Apply',
              States: {
                Apply: {
                  Type: 'Task',
                  Resource: LAMBDA,
                  TimeoutSeconds: 960,
                  Parameters: {
                    FunctionName: FUNCTION,
                    Payload: { step: 'applyFiles', 'Items.$': '$.Items' },
                  },
                  ResultSelector: { 'value.$': '$.Payload' },
                  End: true,
                },
              },
            },
            Next: 'Record the entry applied',
          },
          'Record the entry applied': { ...replica.States['Record the entry applied'], Next: 'Done' },
          'Check the failed entry': { ...replica.States['Check the failed entry'], Next: 'Done' },
          Done: { Type: 'Succeed' },
        },
      };
    }

    /** One replica execution: plan -> Distributed Map over FILES (3 children) -> commit, or check. */
    async function runReplica(options: {
      childType: 'EXPRESS' | 'STANDARD';
      applyFiles?: (event: any) => Promise<unknown>;
      readObject?: () => Promise<string>;
      definition?: Record<string, unknown>;
    }) {
      const steps: string[] = [];
      let planned = 0;
      const { record } = await runOnce(
        options.definition ?? renderReplicaDefinition({ ReplicaFunctionArn: FUNCTION }),
        {},
        async (event) => {
          steps.push(event.step);
          if (event.step === 'plan') {
            planned += 1;
            if (planned > 1) return { action: 'IDLE' };
            return {
              action: 'APPLY_DISTRIBUTED',
              epoch: 'E',
              entry: { sequence: 4 },
              reader: { Bucket: 'b', Key: 'exports/manifest-files.json' },
              format: 'DYNAMODB_JSON',
              childType: options.childType,
              concurrency: 2,
              filesPerBatch: 4,
              child: { claim: 'exec', writesPerSecond: 500, budgetSeconds: 200 },
            };
          }
          if (event.step === 'applyFiles')
            return (options.applyFiles ?? (async () => ({ done: true, resume: null, files: 1 })))(event);
          if (event.step === 'checkFailedEntry') {
            throw Object.assign(new Error('applying chain entry 4 failed'), { name: 'ReplicaApplyFailed' });
          }
          return { ok: true };
        },
        { readObject: options.readObject ?? (async () => MANIFEST) },
      );
      return { record, steps };
    }
    const sixMinutes = async () => {
      await new Promise((resolve) => setTimeout(resolve, 6 * 60_000));
      return { done: true, resume: null, files: 4 };
    };

    it('an Express child running past 5 minutes fails with States.Timeout; the Map fails past its tolerance', async () => {
      const express = await runReplica({ childType: 'EXPRESS', applyFiles: sixMinutes });
      const mapFailure = express.record.stateFailures.find(
        (f) => f.state === 'Apply data files in Express children',
      );
      expect(mapFailure?.error).to.equal('States.ExceedToleratedFailureThreshold');
      expect(mapFailure?.cause).to.include(
        'first: States.Timeout: The execution exceeded the maximum duration of an Express workflow (5 minutes).',
      );
      expect(express.record.caught).to.deep.equal(['Apply data files in Express children']);
      expect(express.steps).to.include('checkFailedEntry').and.not.include('commit');

      // Standard children have no such limit.
      const standard = await runReplica({ childType: 'STANDARD', applyFiles: sixMinutes });
      expect(standard.record.status).to.equal('SUCCEEDED');
      expect(standard.steps).to.include('commit');
    });

    it("children's outputs over 256 KiB together fail the execution with States.DataLimitExceeded, past the Map's Catch", async () => {
      const large = await runReplica({
        childType: 'EXPRESS',
        definition: collectingDefinition('EXPRESS'),
        applyFiles: async () => ({ note: blob(100) }),
      });
      expect(large.record.status).to.equal('FAILED');
      expect(large.record.error).to.equal('States.DataLimitExceeded');
      expect(large.record.cause).to.include("'Map' returned a result");
      expect(large.record.caught).to.deep.equal([]);
      expect(large.record.children).to.include({ executions: 3, failed: 0 });

      const small = await runReplica({
        childType: 'EXPRESS',
        definition: collectingDefinition('EXPRESS'),
        applyFiles: async () => ({ note: blob(50) }),
      });
      expect(small.record.status).to.equal('SUCCEEDED');
    });

    it('an ItemReader that cannot read its object fails the state with States.ItemReaderFailed, which its Catch sees', async () => {
      const missing = await runReplica({
        childType: 'STANDARD',
        readObject: async () => {
          throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
        },
      });
      const unparsable = await runReplica({
        childType: 'STANDARD',
        readObject: async () => `${MANIFEST}{"dataFile\n`,
      });
      for (const { record, steps } of [missing, unparsable]) {
        const failure = record.stateFailures.find((f) => f.state === 'Apply data files in Standard children');
        expect(failure?.error).to.equal('States.ItemReaderFailed');
        expect(record.caught).to.deep.equal(['Apply data files in Standard children']);
        expect(steps).to.include('checkFailedEntry').and.not.include('applyFiles');
        expect(record.children.executions).to.equal(0);
      }
      expect(missing.record.stateFailures[0].cause).to.equal(
        'Map state Apply data files in Standard children could not read its items: s3://b/exports/manifest-files.json: NoSuchKey: The specified key does not exist.',
      );
      expect(unparsable.record.stateFailures[0].cause).to.match(/line 11 is not JSON/);
    });
  });

  it('measures payloads in UTF-8 bytes, as AWS does', async () => {
    // 100,000 three-byte characters: 300,000 bytes although the string has 100,000 characters.
    const wide = await runOnce(taskWithCatch({}), {}, async () => '日'.repeat(100_000));
    expect(wide.record.error).to.equal('States.DataLimitExceeded');
    // The task's result: {"ExecutedVersion":"$LATEST","Payload":"...","StatusCode":200}, 59 bytes around the payload.
    expect(wide.record.cause).to.include(`(${3 * 100_000 + 59} bytes, limit ${STATES_PAYLOAD_LIMIT_BYTES})`);
    const narrow = await runOnce(taskWithCatch({}), {}, async () => 'x'.repeat(100_000));
    expect(narrow.record.status).to.equal('SUCCEEDED');
  });
});
