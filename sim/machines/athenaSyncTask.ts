/**
 * A stand-in for the Step Functions task `arn:aws:states:::athena:startQueryExecution.sync` that runs the
 * query on DuckDB (sim/athenaDuck.ts) and answers as the integration does:
 *
 * - the output is GetQueryExecution's `{ QueryExecution: { QueryExecutionId, Status, Statistics } }`;
 * - a ClientRequestToken already used returns that query again without running it (Athena's
 *   idempotency); the same token with another query string is refused;
 * - a query that fails ends the task with `States.TaskFailed` and the QueryExecution, with its
 *   `StateChangeReason`, as the cause (the exact error name of a failed `.sync` Athena task is [U]:
 *   the workflow catches `States.ALL` and reads the cause);
 * - an injected fault either fails before any query exists (throttling: `Athena.TooManyRequestsException`)
 *   or makes the query itself fail (e.g. `ICEBERG_COMMIT_ERROR`).
 */
import { AthenaQueryError, type DuckAthena } from '../athenaDuck';

export interface AthenaTaskInput {
  QueryString: string;
  ClientRequestToken?: string;
  WorkGroup?: string;
  QueryExecutionContext?: { Database?: string; Catalog?: string };
}

/** A fault for one call: thrown before the query starts, or the reason the query fails. */
export type AthenaFault = { throws: string } | { queryFails: string } | undefined;

interface Execution {
  id: string;
  query: string;
  state: 'SUCCEEDED' | 'FAILED';
  reason?: string;
  dataScannedInBytes: number;
}

function taskError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name });
}

export class AthenaSyncTask {
  /** Queries run, in order (a token answered again is not counted). */
  readonly executed: string[] = [];
  readonly tokens = new Map<string, Execution>();
  calls = 0;

  constructor(
    private readonly duck: DuckAthena,
    private readonly fault: (input: AthenaTaskInput, call: number) => AthenaFault = () => undefined,
  ) {}

  async handle(input: AthenaTaskInput): Promise<unknown> {
    const call = this.calls++;
    const fault = this.fault(input, call);
    if (fault && 'throws' in fault) throw taskError(fault.throws, `${fault.throws}: Rate exceeded`);
    const token = input.ClientRequestToken;
    let execution = token === undefined ? undefined : this.tokens.get(token);
    if (execution && execution.query !== input.QueryString)
      throw taskError('Athena.InvalidRequestException', 'the ClientRequestToken was used with another query');
    if (!execution) {
      execution = await this.run(input.QueryString, fault);
      if (token !== undefined) this.tokens.set(token, execution);
    }
    const queryExecution = {
      QueryExecutionId: execution.id,
      Query: execution.query,
      Status: {
        State: execution.state,
        ...(execution.reason ? { StateChangeReason: execution.reason } : {}),
      },
      Statistics: { DataScannedInBytes: execution.dataScannedInBytes },
      WorkGroup: input.WorkGroup,
    };
    if (execution.state === 'FAILED')
      throw taskError('States.TaskFailed', JSON.stringify({ QueryExecution: queryExecution }));
    return { QueryExecution: queryExecution };
  }

  private async run(query: string, fault: AthenaFault): Promise<Execution> {
    const id = `q-${String(this.executed.length + 1).padStart(6, '0')}`;
    if (fault && 'queryFails' in fault)
      return { id, query, state: 'FAILED', reason: fault.queryFails, dataScannedInBytes: 0 };
    this.executed.push(query);
    try {
      const outcome = await this.duck.execute(query);
      return { id, query, state: 'SUCCEEDED', dataScannedInBytes: outcome.dataScannedInBytes };
    } catch (err) {
      if (!(err instanceof AthenaQueryError)) throw err;
      return { id, query, state: 'FAILED', reason: err.message, dataScannedInBytes: 0 };
    }
  }
}
