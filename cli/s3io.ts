/** S3 helpers live in the format module; re-exported here for the CLI modules that import them. */
export * from '../format/s3io';
