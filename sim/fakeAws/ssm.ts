/** SSM Parameter Store in memory: the calls the workflow makes on its state, action and lock parameters. */
import type {
  DeleteParameterCommandInput,
  DeleteParameterCommandOutput,
  GetParameterCommandInput,
  GetParameterCommandOutput,
  GetParametersCommandInput,
  GetParametersCommandOutput,
  Parameter,
  ParameterType,
  PutParameterCommandInput,
  PutParameterCommandOutput,
  ServiceInputTypes,
  ServiceOutputTypes,
} from '@aws-sdk/client-ssm';
import { serviceError } from './errors';
import { CallLog, FakeService, type NowFn } from './service';

/** Standard-tier parameters hold at most 4 KB. */
export const MAX_STANDARD_VALUE_BYTES = 4096;

export interface FakeParameter {
  Name: string;
  Type: ParameterType;
  Value: string;
  Version: number;
  LastModifiedDate: Date;
}

export class FakeSSM extends FakeService<ServiceInputTypes, ServiceOutputTypes> {
  readonly parameters = new Map<string, FakeParameter>();

  constructor(
    log: CallLog,
    now: NowFn,
    private readonly region: string,
    private readonly account: string,
  ) {
    super('ssm', log, now);
  }

  protected readonly handlers = {
    GetParameters: (input: GetParametersCommandInput) => this.getParameters(input),
    GetParameter: (input: GetParameterCommandInput) => this.getParameter(input),
    PutParameter: (input: PutParameterCommandInput) => this.putParameter(input),
    DeleteParameter: (input: DeleteParameterCommandInput) => this.deleteParameter(input),
  };

  /** Sets a value directly, as Pulumi or an operator would; bumps the version. */
  set(name: string, value: string): void {
    const existing = this.parameters.get(name);
    this.parameters.set(name, {
      Name: name,
      Type: existing?.Type ?? 'String',
      Value: value,
      Version: (existing?.Version ?? 0) + 1,
      LastModifiedDate: new Date(this.now()),
    });
  }

  get(name: string): string | undefined {
    return this.parameters.get(name)?.Value;
  }

  remove(name: string): void {
    this.parameters.delete(name);
  }

  /** All parameters as name -> value. */
  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.parameters.values()].map((p) => [p.Name, p.Value]));
  }

  private view(p: FakeParameter): Parameter {
    return {
      Name: p.Name,
      Type: p.Type,
      Value: p.Value,
      Version: p.Version,
      LastModifiedDate: new Date(p.LastModifiedDate.getTime()),
      ARN: `arn:aws:ssm:${this.region}:${this.account}:parameter${p.Name.startsWith('/') ? '' : '/'}${p.Name}`,
      DataType: 'text',
    };
  }

  private getParameters(input: GetParametersCommandInput): GetParametersCommandOutput {
    const names: unknown = input?.Names;
    if (!Array.isArray(names) || names.length < 1 || names.length > 10) {
      throw serviceError('ValidationException', 'Names must hold 1 to 10 parameter names');
    }
    const found = [];
    const invalid = [];
    for (const name of new Set(names as string[])) {
      const p = this.parameters.get(name);
      if (p) found.push(this.view(p));
      else invalid.push(name);
    }
    return { Parameters: found, InvalidParameters: invalid, $metadata: { httpStatusCode: 200 } };
  }

  private getParameter(input: GetParameterCommandInput): GetParameterCommandOutput {
    const p = input?.Name === undefined ? undefined : this.parameters.get(input.Name);
    if (!p) throw serviceError('ParameterNotFound', `Parameter ${input?.Name} not found`);
    return { Parameter: this.view(p), $metadata: { httpStatusCode: 200 } };
  }

  private putParameter(input: PutParameterCommandInput): PutParameterCommandOutput {
    const name = input?.Name;
    const value = input?.Value;
    if (typeof name !== 'string' || name.length === 0)
      throw serviceError('ValidationException', 'Name is required');
    if (typeof value !== 'string' || value.length === 0) {
      throw serviceError('ValidationException', 'Value must be a non-empty string');
    }
    if (Buffer.byteLength(value, 'utf8') > MAX_STANDARD_VALUE_BYTES) {
      throw serviceError(
        'ValidationException',
        `1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to ${MAX_STANDARD_VALUE_BYTES}`,
      );
    }
    const existing = this.parameters.get(name);
    if (existing && !input.Overwrite) {
      throw serviceError('ParameterAlreadyExists', `The parameter ${name} already exists.`);
    }
    const version = (existing?.Version ?? 0) + 1;
    this.parameters.set(name, {
      Name: name,
      Type: input.Type ?? existing?.Type ?? 'String',
      Value: value,
      Version: version,
      LastModifiedDate: new Date(this.now()),
    });
    return { Version: version, Tier: 'Standard', $metadata: { httpStatusCode: 200 } };
  }

  private deleteParameter(input: DeleteParameterCommandInput): DeleteParameterCommandOutput {
    if (input?.Name === undefined || !this.parameters.delete(input.Name)) {
      throw serviceError('ParameterNotFound', `Parameter ${input?.Name} not found`);
    }
    return { $metadata: { httpStatusCode: 200 } };
  }
}
