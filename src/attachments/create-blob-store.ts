import { join } from 'node:path';
import type { Config } from '../config/config.js';
import type { BlobStore } from './blob-store.js';
import { LocalBlobStore } from './local-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';

/** FILE_STORAGE: a directory (default) or an S3-compatible bucket. */
export function createBlobStore(config: Config): BlobStore {
  if (config.fileStorage === 's3') {
    return new S3BlobStore({
      bucket: config.s3Bucket!,
      region: config.s3Region,
      endpoint: config.s3Endpoint,
      publicEndpoint: config.s3PublicEndpoint,
      forcePathStyle: config.s3ForcePathStyle,
      accessKeyId: config.s3AccessKeyId,
      secretAccessKey: config.s3SecretAccessKey,
    });
  }
  return new LocalBlobStore(config.filesDir ?? join(config.dataDir, 'files'));
}
