/**
 * The `iceberg:` block of a table's config: an Apache Iceberg table kept fresh from the table's chain by
 * Athena MERGE (docs/iceberg.md). One zod schema with its defaults, the words its error messages use,
 * and the resolution of the defaults that depend on the stack (database) and the table (table name).
 *
 * Names are restricted on purpose: the SQL builder (functions/iceberg/sql.ts) writes them into SQL
 * without quoting tricks, and JSON paths use dot notation only (`$.NewImage.amount.N`), which both
 * Trino and the offline DuckDB oracle accept (DuckDB rejects `$["a b"]`).
 */
import { z } from 'zod';

/** Athena writes at most 100 partitions per query, Iceberg tables included (HIVE_TOO_MANY_OPEN_PARTITIONS). */
export const MAX_ICEBERG_BUCKETS = 100;
/**
 * Most projection columns. One execution of the feed adds the columns the config gained one statement
 * each (plus the table, the bootstrap, the view and one batch: at most columns + 4 statements, each tried
 * at most MAX_QUERY_ATTEMPTS times), and a Standard execution fails past 25,000 history events: at
 * about 35 events a statement, 100 columns keep the worst case near 18,000 (docs/iceberg.md, "Limits").
 * The whole item is in the `item` column whatever is projected.
 */
export const MAX_ICEBERG_COLUMNS = 100;

/** Longest retention the optimizers take here, in days (ten years: a bound against typos, not Glue's). */
export const MAX_OPTIMIZER_DAYS = 3650;
/** Most snapshots the retention optimizer is asked to keep whatever their age. */
export const MAX_SNAPSHOTS_TO_RETAIN = 1000;
/**
 * The optimizers' settings when the config does not say: Glue's own defaults for snapshot retention
 * (5 days, at least 1 snapshot) and orphan file deletion (3 days) [U: as the Glue console states them;
 * the workflow always sends the values, so a different service default changes nothing here].
 */
export const OPTIMIZER_DEFAULTS = {
  snapshotRetentionDays: 5,
  snapshotsToRetain: 1,
  orphanFileRetentionDays: 3,
} as const;

/** Columns every target table has; a projection or key may not take these names. */
export const ICEBERG_RESERVED_COLUMNS = [
  'item',
  '_write_ts',
  '_write_ts_micros',
  '_chain_seq',
  '_export_id',
] as const;

/** A Glue/Athena identifier: lower case (Glue lower-cases names), digits and "_". */
const IDENTIFIER = /^[a-z][a-z0-9_]*$/;
/** A DynamoDB attribute name that a dot JSON path can address in both Trino and DuckDB. */
const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The column types a projection may have (Athena Iceberg DDL types). */
const COLUMN_TYPE = /^(string|bigint|int|double|boolean|timestamp|date|decimal\((\d{1,2}),\s*(\d{1,2})\))$/;

/** What each `iceberg` field accepts, in words; merged into the config's ALLOWED table. */
export const ICEBERG_ALLOWED: Record<string, string> = {
  iceberg:
    'an object {partitionKey, sortKey?, database?, table?, target?, columns?, bucketPartitions?, mergeEveryMinutes?, maxExportsPerMerge?, onNewEpoch?, bytesScannedCutoffMb?, lagAlarmMinutes?, optimizers?}',
  'iceberg.database':
    'a Glue database name: a-z, 0-9 and "_", starting with a letter, at most 100 characters',
  'iceberg.table':
    'a table name: a-z, 0-9 and "_", starting with a letter, at most 80 characters (the epoch suffix is added)',
  'iceberg.target':
    "glue (the default: an Iceberg table in the Glue Data Catalog); s3tables is not supported yet: the feed needs a view over the epoch's table and S3 Tables has no views",
  'iceberg.partitionKey':
    "the table's partition key: {attribute, type: S, N or B, column?}; attribute matching ^[A-Za-z_][A-Za-z0-9_]*$",
  'iceberg.sortKey': "the table's sort key, when it has one: {attribute, type: S, N or B, column?}",
  'iceberg.partitionKey.attribute': 'an attribute name matching ^[A-Za-z_][A-Za-z0-9_]*$',
  'iceberg.sortKey.attribute': 'an attribute name matching ^[A-Za-z_][A-Za-z0-9_]*$',
  'iceberg.partitionKey.type': 'S, N or B (the key attribute type of the table)',
  'iceberg.sortKey.type': 'S, N or B (the key attribute type of the table)',
  'iceberg.partitionKey.column': 'a column name: a-z, 0-9 and "_", starting with a letter',
  'iceberg.sortKey.column': 'a column name: a-z, 0-9 and "_", starting with a letter',
  'iceberg.columns': `a list of at most ${MAX_ICEBERG_COLUMNS} projections {column, attribute, type, conversion?, attributeType?}, each column once, none named like a key or a reserved column`,
  'iceberg.columns.column': 'a column name: a-z, 0-9 and "_", starting with a letter, at most 128 characters',
  'iceberg.columns.attribute': 'an attribute name matching ^[A-Za-z_][A-Za-z0-9_]*$',
  'iceberg.columns.type':
    'string, bigint, int, double, boolean, timestamp, date or decimal(p,s) with 1 <= p <= 38, s <= p',
  'iceberg.columns.conversion':
    'none, epoch_seconds, epoch_millis (a number to a timestamp) or iso8601 (a string to a timestamp)',
  'iceberg.columns.attributeType':
    'S, N or BOOL (the DynamoDB type read; by default from type and conversion)',
  'iceberg.bucketPartitions': `an integer from 1 to ${MAX_ICEBERG_BUCKETS} (Athena writes at most ${MAX_ICEBERG_BUCKETS} partitions per query)`,
  'iceberg.mergeEveryMinutes': 'an integer from 15 to 1440',
  'iceberg.maxExportsPerMerge': 'an integer from 1 to 200',
  'iceberg.onNewEpoch': 'rebuild (a new table from the new full export, then the view is swapped) or halt',
  'iceberg.bytesScannedCutoffMb':
    'an integer from 10 to 10000000 (the workgroup cancels a query scanning more)',
  'iceberg.lagAlarmMinutes':
    "an integer from 15 to 50400: the lake's lag behind the chain above which its alarm fires (default: the table's lagAlarmMinutes plus mergeEveryMinutes)",
  'iceberg.optimizers':
    "an object {enabled?, snapshotRetentionDays?, snapshotsToRetain?, orphanFileRetentionDays?}: the Glue table optimizers of each epoch's table (target glue only)",
  'iceberg.optimizers.enabled':
    'true (default: compaction, snapshot retention and orphan file deletion) or false',
  'iceberg.optimizers.snapshotRetentionDays': `an integer from 1 to ${MAX_OPTIMIZER_DAYS} (snapshots older than this expire; default ${OPTIMIZER_DEFAULTS.snapshotRetentionDays})`,
  'iceberg.optimizers.snapshotsToRetain': `an integer from 1 to ${MAX_SNAPSHOTS_TO_RETAIN} (kept whatever their age; default ${OPTIMIZER_DEFAULTS.snapshotsToRetain})`,
  'iceberg.optimizers.orphanFileRetentionDays': `an integer from 1 to ${MAX_OPTIMIZER_DAYS} (files no snapshot references are deleted after this; default ${OPTIMIZER_DEFAULTS.orphanFileRetentionDays})`,
};

/** The shape with each field described by its words in `ICEBERG_ALLOWED` under `prefix`. */
function described<T extends Record<string, z.ZodType>>(prefix: string, shape: T): T {
  return Object.fromEntries(
    Object.entries(shape).map(([key, schema]) => {
      const words = ICEBERG_ALLOWED[`${prefix}.${key}`];
      return [key, words ? schema.describe(words) : schema];
    }),
  ) as T;
}

const keyShape = {
  attribute: z.string().max(255).regex(ATTRIBUTE),
  type: z.enum(['S', 'N', 'B']),
  column: z.string().max(128).regex(IDENTIFIER).optional(),
};
const keySchema = z.strictObject(described('iceberg.partitionKey', keyShape));

const optimizersSchema = z.strictObject(
  described('iceberg.optimizers', {
    enabled: z.boolean().default(true),
    snapshotRetentionDays: z.number().int().min(1).max(MAX_OPTIMIZER_DAYS).optional(),
    snapshotsToRetain: z.number().int().min(1).max(MAX_SNAPSHOTS_TO_RETAIN).optional(),
    orphanFileRetentionDays: z.number().int().min(1).max(MAX_OPTIMIZER_DAYS).optional(),
  }),
);

const columnSchema = z.strictObject(
  described('iceberg.columns', {
    column: z.string().max(128).regex(IDENTIFIER),
    attribute: z.string().max(255).regex(ATTRIBUTE),
    type: z
      .string()
      .regex(COLUMN_TYPE)
      .refine(decimalFits, { message: 'a decimal needs 1 <= precision <= 38 and scale <= precision' }),
    conversion: z.enum(['none', 'epoch_seconds', 'epoch_millis', 'iso8601']).default('none'),
    attributeType: z.enum(['S', 'N', 'BOOL']).optional(),
  }),
);

function decimalFits(type: string): boolean {
  const m = COLUMN_TYPE.exec(type);
  if (!m || m[2] === undefined) return true;
  const precision = Number(m[2]);
  const scale = Number(m[3]);
  return precision >= 1 && precision <= 38 && scale <= precision;
}

/** The `iceberg` block of one table, with its defaults; see `IcebergInput` for each field. */
export const icebergSchema = z
  .strictObject(
    described('iceberg', {
      database: z.string().max(100).regex(IDENTIFIER).optional(),
      table: z.string().max(80).regex(IDENTIFIER).optional(),
      // S3 Tables: no views (the readers' view over each epoch's table), and a table bucket, its
      // namespace and Lake Formation grants to set up; refused until the feed supports it.
      target: z.literal('glue').default('glue'),
      partitionKey: keySchema,
      sortKey: keySchema.optional(),
      columns: z.array(columnSchema).max(MAX_ICEBERG_COLUMNS).default([]),
      bucketPartitions: z.number().int().min(1).max(MAX_ICEBERG_BUCKETS).optional(),
      mergeEveryMinutes: z.number().int().min(15).max(1440).default(60),
      maxExportsPerMerge: z.number().int().min(1).max(200).default(96),
      onNewEpoch: z.enum(['rebuild', 'halt']).default('rebuild'),
      bytesScannedCutoffMb: z.number().int().min(10).max(10_000_000).default(102_400),
      lagAlarmMinutes: z.number().int().min(15).max(50_400).optional(),
      optimizers: optimizersSchema.optional(),
    }),
  )
  .superRefine((value, ctx) => {
    for (const problem of icebergColumnProblems(value)) ctx.addIssue({ code: 'custom', ...problem });
  })
  .describe(ICEBERG_ALLOWED.iceberg);

/** The block as written in the stack config. */
export type IcebergInput = z.input<typeof icebergSchema>;
/** After the schema: defaults applied, database and table still optional. */
export type IcebergParsed = z.output<typeof icebergSchema>;

/** A key column of the target: the DynamoDB key attribute, its type, and its column name. */
export interface IcebergKey {
  attribute: string;
  type: 'S' | 'N' | 'B';
  column: string;
}

/** One typed projection: `column` = `attribute` read as `attributeType`, converted, cast to `type`. */
export interface IcebergColumn {
  column: string;
  attribute: string;
  type: string;
  conversion: 'none' | 'epoch_seconds' | 'epoch_millis' | 'iso8601';
  attributeType: 'S' | 'N' | 'BOOL';
}

/** The `iceberg` block with every default applied. */
export interface IcebergConfig {
  database: string;
  /** Base name: the readers' view; each epoch's table is `<table>__e<epoch>`. */
  table: string;
  target: 'glue';
  partitionKey: IcebergKey;
  sortKey?: IcebergKey;
  columns: IcebergColumn[];
  bucketPartitions?: number;
  mergeEveryMinutes: number;
  maxExportsPerMerge: number;
  onNewEpoch: 'rebuild' | 'halt';
  bytesScannedCutoffMb: number;
  /**
   * The lake's lag behind the chain (minutes) above which the feed's lag alarm fires.
   * @default the table's lagAlarmMinutes plus mergeEveryMinutes (components/consumers/tableConsumers.ts)
   */
  lagAlarmMinutes?: number;
  /**
   * The Glue table optimizers the workflow creates on each epoch's table (compaction, snapshot
   * retention, orphan file deletion). Off with `optimizers.enabled: false`. Always present once
   * resolved, so that the resolved block parses back to itself (ContinuousExport validates its args
   * again).
   */
  optimizers: IcebergOptimizers;
}

/** The optimizers' settings with their defaults applied. */
export interface IcebergOptimizers {
  enabled: boolean;
  snapshotRetentionDays: number;
  snapshotsToRetain: number;
  orphanFileRetentionDays: number;
}

/** The DynamoDB type a projection reads when the config does not say: from its type and conversion. */
export function defaultAttributeType(
  type: string,
  conversion: IcebergColumn['conversion'],
): 'S' | 'N' | 'BOOL' {
  if (conversion === 'iso8601') return 'S';
  if (conversion === 'epoch_seconds' || conversion === 'epoch_millis') return 'N';
  if (type === 'boolean') return 'BOOL';
  if (type === 'string' || type === 'timestamp' || type === 'date') return 'S';
  return 'N';
}

interface Problem {
  path: (string | number)[];
  message: string;
  input?: unknown;
}

/** Problems no single field shows: repeated or reserved column names, conversions that do not fit. */
function icebergColumnProblems(value: IcebergParsed): Problem[] {
  const problems: Problem[] = [];
  const taken = new Map<string, string>();
  const keys: [string, z.output<typeof keySchema> | undefined][] = [
    ['partitionKey', value.partitionKey],
    ['sortKey', value.sortKey],
  ];
  for (const [field, key] of keys) {
    if (!key) continue;
    const column = key.column ?? key.attribute.toLowerCase();
    if (!IDENTIFIER.test(column))
      problems.push({
        path: [field, 'attribute'],
        input: key.attribute,
        message: `gives no usable column name ("${column}"); set ${field}.column`,
      });
    else if ((ICEBERG_RESERVED_COLUMNS as readonly string[]).includes(column))
      problems.push({
        path: [field, 'column'],
        input: column,
        message: `"${column}" is a reserved column; set ${field}.column to another name`,
      });
    else if (taken.has(column))
      problems.push({
        path: [field, 'column'],
        input: column,
        message: `${taken.get(column)} has the same column`,
      });
    taken.set(column, field);
  }
  value.columns.forEach((c, index) => {
    const at = (field: string) => ['columns', index, field];
    if ((ICEBERG_RESERVED_COLUMNS as readonly string[]).includes(c.column))
      problems.push({ path: at('column'), input: c.column, message: `"${c.column}" is a reserved column` });
    else if (taken.has(c.column))
      problems.push({
        path: at('column'),
        input: c.column,
        message: `${taken.get(c.column)} has the same column`,
      });
    taken.set(c.column, `columns[${index}]`);
    if (c.conversion !== 'none' && c.type !== 'timestamp')
      problems.push({
        path: at('conversion'),
        input: c.conversion,
        message: `${c.conversion} makes a timestamp, but type is ${c.type}`,
      });
    const read = c.attributeType ?? defaultAttributeType(c.type, c.conversion);
    if ((c.conversion === 'iso8601' && read !== 'S') || (c.conversion.startsWith('epoch') && read !== 'N'))
      problems.push({
        path: at('attributeType'),
        input: c.attributeType,
        message: `${c.conversion} reads ${c.conversion === 'iso8601' ? 'S' : 'N'} values`,
      });
  });
  return problems;
}

/** The optimizers with the defaults filled in: on unless disabled. */
function resolveOptimizers(parsed: IcebergParsed): IcebergOptimizers {
  return {
    enabled: parsed.optimizers?.enabled !== false,
    snapshotRetentionDays:
      parsed.optimizers?.snapshotRetentionDays ?? OPTIMIZER_DEFAULTS.snapshotRetentionDays,
    snapshotsToRetain: parsed.optimizers?.snapshotsToRetain ?? OPTIMIZER_DEFAULTS.snapshotsToRetain,
    orphanFileRetentionDays:
      parsed.optimizers?.orphanFileRetentionDays ?? OPTIMIZER_DEFAULTS.orphanFileRetentionDays,
  };
}

/** Glue names start with a letter: `prefix` is put before a name that does not. */
function startWithLetter(name: string, prefix: string): string {
  return /^[a-z]/.test(name) ? name : `${prefix}${name}`;
}

/** The `iceberg` block with every default applied; database and table derive from the stack and alias. */
export function resolveIceberg(
  parsed: IcebergParsed,
  context: { stack: string; alias: string },
): IcebergConfig {
  const underscore = (text: string) =>
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '');
  const key = (k: z.output<typeof keySchema>): IcebergKey => ({
    attribute: k.attribute,
    type: k.type,
    column: k.column ?? k.attribute.toLowerCase(),
  });
  const stackPart = underscore(context.stack);
  return {
    database: parsed.database ?? `${startWithLetter(stackPart, 'dce_')}_lake`.slice(0, 100),
    table: parsed.table ?? startWithLetter(underscore(context.alias), 't_').slice(0, 80),
    target: parsed.target,
    partitionKey: key(parsed.partitionKey),
    ...(parsed.sortKey ? { sortKey: key(parsed.sortKey) } : {}),
    columns: parsed.columns.map((c) => ({
      column: c.column,
      attribute: c.attribute,
      type: c.type.replace(/\s+/g, ''),
      conversion: c.conversion,
      attributeType: c.attributeType ?? defaultAttributeType(c.type, c.conversion),
    })),
    ...(parsed.bucketPartitions !== undefined ? { bucketPartitions: parsed.bucketPartitions } : {}),
    mergeEveryMinutes: parsed.mergeEveryMinutes,
    maxExportsPerMerge: parsed.maxExportsPerMerge,
    onNewEpoch: parsed.onNewEpoch,
    bytesScannedCutoffMb: parsed.bytesScannedCutoffMb,
    ...(parsed.lagAlarmMinutes !== undefined ? { lagAlarmMinutes: parsed.lagAlarmMinutes } : {}),
    optimizers: resolveOptimizers(parsed),
  };
}

/**
 * Problems between the `iceberg` block and the rest of the table's settings: Athena reads the
 * DYNAMODB_JSON data files with JSON functions, so an ION chain cannot feed it.
 */
export function icebergTableProblems(table: { exportFormat?: string; hasIceberg: boolean }): string[] {
  if (!table.hasIceberg || (table.exportFormat ?? 'DYNAMODB_JSON') === 'DYNAMODB_JSON') return [];
  return [
    'the Iceberg feed reads DYNAMODB_JSON exports only (Athena JSON functions); set exportFormat to DYNAMODB_JSON',
  ];
}
