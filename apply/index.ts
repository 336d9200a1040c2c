/** The apply engine: committed chain entries into a DynamoDB table (see applyEngine.ts). */
export * from './applyEngine';
export * from './applyEntries';
export * from './batchWriter';
export * from './entryFiles';
export * from './errors';
export * from './fileCursor';
export * from './memoryBudget';
export * from './rateLimiter';
export * from './readAhead';
export * from './recordBytes';
export * from './targetTable';
export * from './writeGroups';
export * from './writes';
