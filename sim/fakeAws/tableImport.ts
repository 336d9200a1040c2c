/**
 * DynamoDB's import from S3 (ImportTable, DescribeImport, ListImports) offline, over a local DynamoDB
 * server that has none: ImportTable creates the table and loads every data file under the request's
 * S3 key prefix (read with the format module, JSON or ION), as DynamoDB does; the import then reads
 * IN_PROGRESS until `durationSeconds` of simulated time have passed (or for `pollsInProgress`
 * DescribeImport calls), and COMPLETED after, with the
 * item count it loaded. Every other command goes to the local server unchanged (DescribeTable with the
 * table's ARN in the simulated account, as ListImports filters by it).
 *
 * What DynamoDB documents and this follows: the target table must not exist (ResourceInUseException);
 * the same ClientToken answers the same import (or, with `repeatAnswer: conflict`, an
 * ImportConflictException; its 8-hour idempotency window is not modelled: the
 * import is answered as long as it is known). Not modelled: GSIs built from the loaded items beyond
 * what the local server does, throughput, CloudWatch logs, import errors.
 */
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeImportCommand,
  DescribeTableCommand,
  ImportConflictException,
  ImportTableCommand,
  ListImportsCommand,
  ResourceInUseException,
  type ImportTableDescription,
  type ImportTableInput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { streamDataFile, type S3Sender } from '../../format';

/** Anything with the SDK's `send` (the local server's DynamoDB client). */
interface Sender {
  send(command: unknown): Promise<unknown>;
}

export interface TableImportOptions {
  account: string;
  region: string;
  /** How long an import stays IN_PROGRESS, in seconds of (simulated) time. @default 1200 */
  durationSeconds?: number;
  /** Instead of a duration: DescribeImport answers IN_PROGRESS this many times, then COMPLETED. */
  pollsInProgress?: number;
}

export class LocalTableImport {
  readonly imports = new Map<string, ImportTableDescription>();
  /** ImportTable requests, in order. */
  readonly requests: ImportTableInput[] = [];
  /** Names of every command received, in order. */
  readonly calls: string[] = [];
  /**
   * How a repeated ClientToken is answered: the same import (what DynamoDB documents) or
   * ImportConflictException (what a conflicting repeat gets; either must be survived).
   */
  repeatAnswer: 'same' | 'conflict' = 'same';
  private readonly polls = new Map<string, number>();

  constructor(
    private readonly dynamodb: Sender,
    private readonly s3: S3Sender,
    private readonly options: TableImportOptions,
  ) {}

  async send(command: unknown): Promise<unknown> {
    this.calls.push((command as object).constructor.name);
    if (command instanceof ImportTableCommand) return this.importTable(command.input);
    if (command instanceof DescribeImportCommand) return this.describeImport(command.input.ImportArn);
    if (command instanceof ListImportsCommand) {
      return {
        ImportSummaryList: [...this.imports.values()]
          .filter((d) => d.TableArn === command.input.TableArn)
          .map((d) => ({
            ImportArn: d.ImportArn,
            ImportStatus: this.status(d),
            TableArn: d.TableArn,
            S3BucketSource: d.S3BucketSource,
            StartTime: d.StartTime,
          })),
      };
    }
    const out = (await this.dynamodb.send(command)) as { Table?: { TableName?: string; TableArn?: string } };
    if (command instanceof DescribeTableCommand && out.Table?.TableName)
      out.Table.TableArn = this.tableArn(out.Table.TableName);
    return out;
  }

  private tableArn(name: string): string {
    return `arn:aws:dynamodb:${this.options.region}:${this.options.account}:table/${name}`;
  }

  private status(d: ImportTableDescription): 'IN_PROGRESS' | 'COMPLETED' {
    if (this.options.pollsInProgress !== undefined)
      return (this.polls.get(d.ImportArn!) ?? 0) > this.options.pollsInProgress ? 'COMPLETED' : 'IN_PROGRESS';
    const durationMs = (this.options.durationSeconds ?? 1200) * 1000;
    return Date.now() - d.StartTime!.getTime() >= durationMs ? 'COMPLETED' : 'IN_PROGRESS';
  }

  private describeImport(importArn: string | undefined) {
    const found = importArn ? this.imports.get(importArn) : undefined;
    if (!found) {
      const error = new Error(`Import not found: ${String(importArn)}`);
      error.name = 'ImportNotFoundException';
      throw error;
    }
    this.polls.set(importArn!, (this.polls.get(importArn!) ?? 0) + 1);
    const status = this.status(found);
    return {
      ImportTableDescription: {
        ...found,
        ImportStatus: status,
        ...(status === 'COMPLETED' ? { EndTime: new Date() } : {}),
      },
    };
  }

  private async importTable(input: ImportTableInput) {
    this.requests.push(input);
    const same = [...this.imports.values()].find((d) => d.ClientToken === input.ClientToken);
    if (same) {
      if (this.repeatAnswer === 'conflict')
        throw new ImportConflictException({ message: 'token in use', $metadata: {} });
      return { ImportTableDescription: { ...same, ImportStatus: this.status(same) } };
    }
    const p = input.TableCreationParameters!;
    const table = p.TableName!;
    try {
      await this.dynamodb.send(
        new CreateTableCommand({
          TableName: table,
          KeySchema: p.KeySchema,
          AttributeDefinitions: p.AttributeDefinitions,
          BillingMode: p.BillingMode,
          ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes } : {}),
        }),
      );
    } catch (err) {
      if ((err as Error).name === 'ResourceInUseException')
        throw new ResourceInUseException({ message: `Table already exists: ${table}`, $metadata: {} });
      throw err;
    }
    await this.untilActive(table);
    const source = input.S3BucketSource!;
    const loaded = await this.load(table, source.S3Bucket!, source.S3KeyPrefix ?? '', input.InputFormat);
    const importArn = `${this.tableArn(table)}/import/${String(Date.now()).padStart(14, '0')}-${String(this.imports.size + 1).padStart(8, '0')}`;
    const description: ImportTableDescription = {
      ImportArn: importArn,
      ImportStatus: 'IN_PROGRESS',
      TableArn: this.tableArn(table),
      ClientToken: input.ClientToken,
      S3BucketSource: source,
      InputFormat: input.InputFormat,
      StartTime: new Date(),
      ImportedItemCount: loaded,
      ProcessedItemCount: loaded,
      ErrorCount: 0,
    };
    this.imports.set(importArn, description);
    return { ImportTableDescription: { ...description } };
  }

  /**
   * The local server activates a table at once; polled without sleeping, since a caller may hold a
   * simulated clock that a sleep would wait on forever.
   */
  private async untilActive(table: string): Promise<void> {
    for (let i = 0; i < 1000; i++) {
      const out = (await this.dynamodb.send(new DescribeTableCommand({ TableName: table }))) as {
        Table?: { TableStatus?: string };
      };
      if (out.Table?.TableStatus === 'ACTIVE') return;
    }
    throw new Error(`table ${table} did not become ACTIVE`);
  }

  /** Loads every data file under the prefix; returns the items written. */
  private async load(table: string, bucket: string, prefix: string, format: string | undefined) {
    let loaded = 0;
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) {
        const entry = { dataFileS3Key: object.Key!, itemCount: 0, md5Checksum: '', etag: '' };
        const options = { format: format === 'ION' ? ('ION' as const) : ('DYNAMODB_JSON' as const) };
        for await (const records of streamDataFile(this.s3, bucket, entry, options)) {
          const puts: WriteRequest[] = records.flatMap((r) =>
            r.kind === 'item' ? [{ PutRequest: { Item: r.item } }] : [],
          );
          for (let i = 0; i < puts.length; i += 25) await this.write(table, puts.slice(i, i + 25));
          loaded += puts.length;
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return loaded;
  }

  private async write(table: string, batch: WriteRequest[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 100) throw new Error(`import into ${table}: writes still unprocessed`);
      const out = (await this.dynamodb.send(
        new BatchWriteItemCommand({ RequestItems: { [table]: pending } }),
      )) as { UnprocessedItems?: Record<string, WriteRequest[]> };
      pending = out.UnprocessedItems?.[table] ?? [];
    }
  }
}
