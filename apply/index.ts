/** The apply engine: committed chain entries into a DynamoDB table (see applyEntries.ts). */
export * from './applyEntries';
export * from './batchWriter';
export * from './errors';
export * from './rateLimiter';
export * from './targetTable';
export * from './writes';
