import { expect } from 'chai';
import { LAMBDA_HANDLERS } from '../../../functions/shared/lambdaHandlers';
import { renderDefinition, renderDefinitionString } from '../../../statemachine/render';

// asl-validator ships no type declarations and mutates its argument.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:orders-export-tick';

describe('state machine definition', () => {
  it('renders with no unresolved placeholder and passes asl-validator', () => {
    const text = renderDefinitionString({ TickFunctionArn: ARN });
    expect(text).not.to.match(/\$\{/);
    const result = aslValidator(JSON.parse(text));
    expect(result.errors).to.deep.equal([]);
    expect(result.isValid).to.equal(true);
  });

  it('puts the function ARN into every Lambda task', () => {
    const definition = renderDefinition({ TickFunctionArn: ARN }) as any;
    const tasks = Object.values(definition.States).filter((s: any) => s.Type === 'Task') as any[];
    expect(tasks.length).to.be.greaterThan(0);
    for (const task of tasks) expect(task.Parameters.FunctionName).to.equal(ARN);
  });

  it("gives every Lambda task an explicit timeout longer than the function's own", () => {
    // In AWS a Task has no timeout unless set; the local interpreter's default is 60 s. Explicit and
    // longer than the function's timeout, the function's timeout decides in both.
    const definition = renderDefinition({ TickFunctionArn: ARN }) as any;
    const tick = LAMBDA_HANDLERS.find((h) => h.name === 'export-tick')!;
    for (const [name, task] of Object.entries(definition.States) as [string, any][])
      if (task.Type === 'Task') expect(task.TimeoutSeconds, name).to.be.greaterThan(tick.timeoutSeconds);
  });

  it("retries every Lambda task on Lambda's transient errors, the client execution timeout included", () => {
    const definition = renderDefinition({ TickFunctionArn: ARN }) as any;
    for (const [name, state] of Object.entries<any>(definition.States)) {
      if (state.Type !== 'Task') continue;
      const retried = state.Retry.flatMap((r: any) => r.ErrorEquals);
      for (const error of [
        'Lambda.ServiceException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
        'Lambda.ClientExecutionTimeoutException',
        'TransientAwsError',
      ]) {
        expect(retried, `${name} retries ${error}`).to.include(error);
      }
    }
  });

  it('rejects an empty parameter', () => {
    expect(() => renderDefinition({ TickFunctionArn: '' })).to.throw(/TickFunctionArn/);
  });

  it('gives every Task a Retry and a Catch whose States.ALL stands alone and last', () => {
    const definition = renderDefinition({ TickFunctionArn: ARN }) as any;
    for (const [name, state] of Object.entries<any>(definition.States)) {
      if (state.Type !== 'Task') continue;
      expect(state.Retry, name).to.be.an('array').that.is.not.empty;
      expect(state.Catch, name).to.be.an('array').that.is.not.empty;
      const last = state.Catch[state.Catch.length - 1];
      expect(last.ErrorEquals, name).to.deep.equal(['States.ALL']);
      for (const c of state.Catch.slice(0, -1)) expect(c.ErrorEquals).not.to.include('States.ALL');
      for (const r of state.Retry) expect(r.ErrorEquals).not.to.include('States.ALL');
    }
  });
});
