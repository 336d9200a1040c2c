/**
 * The Lambda functions that deploy. The Pulumi component bundles each entry with esbuild into a
 * deterministic archive; local runs import the same modules.
 */
export interface LambdaHandlerSpec {
  /** Short name, used in physical resource names (`<component>-<name>`). */
  name: string;
  /** Entry module, relative to the repository root; it exports `handler`. */
  entry: string;
  description: string;
  /** @default 60 */
  timeoutSeconds: number;
  /** @default 256 */
  memorySizeMb: number;
}

export const LAMBDA_HANDLERS: readonly LambdaHandlerSpec[] = [
  {
    name: 'export-tick',
    entry: 'functions/chain/handler.ts',
    description: 'One step of the continuous export chain: checks, commits, starts and notifies.',
    timeoutSeconds: 120,
    memorySizeMb: 256,
  },
];

/**
 * The apply Lambda of each replica (components/consumers/tableReplica.ts). Not in `LAMBDA_HANDLERS`: a table
 * deploys it once per configured replica, not once per table. Its timeout bounds one grouped apply
 * (functions/replica/planner.ts keeps a group well inside it).
 */
export const REPLICA_APPLY_HANDLER: LambdaHandlerSpec = {
  name: 'replica-apply',
  entry: 'functions/replica/handler.ts',
  description:
    'Applies the export chain to a replica table: plans, applies entries or data files, records progress.',
  timeoutSeconds: 900,
  memorySizeMb: 1024,
};

/**
 * How long a replica's grouped-apply claim holds: twice its Lambda's timeout, so a live apply always
 * ends first. The component deploys it in the replica's settings; `dce` reads the same constant.
 */
export const REPLICA_GROUP_LEASE_SECONDS = 2 * REPLICA_APPLY_HANDLER.timeoutSeconds;

/**
 * The plan/commit function of each Iceberg feed (components/consumers/icebergFeed.ts): it only reads the chain,
 * writes small symlink files and the feed's cursor; Athena does the work.
 */
export const ICEBERG_FEED_HANDLER: LambdaHandlerSpec = {
  name: 'iceberg-feed',
  entry: 'functions/iceberg/handler.ts',
  description: 'Plans the Iceberg feed: next statement, symlink partitions, cursor compare-and-set.',
  timeoutSeconds: 300,
  memorySizeMb: 256,
};
