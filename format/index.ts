/**
 * The export format module: everything about the files DynamoDB writes for an export to S3, for
 * every reader and writer (the simulated export engine, verify, replay, status, the Lambda code).
 * It depends only on Node, the AWS SDK and libraries, never on the rest of this repository.
 */
export * from './types';
export * from './errors';
export * from './transientErrors';
export * from './numbers';
export * from './attributeValues';
export * from './layout';
export * from './manifests';
export * from './s3io';
export * from './lineReader';
export * from './dynamodbJson';
export * from './ion';
export * from './reader';
export * from './writer';
