import { describe, expect, it } from 'vitest';
import { s3ClientConfig, sqsClientConfig } from '../../../functions/shared/aws-client-config.js';

describe('Lambda SDK client options', () => {
  it('keep the SDK defaults in AWS, where no endpoint is overridden', () => {
    expect(sqsClientConfig({})).toEqual({});
    expect(s3ClientConfig({})).toEqual({});
  });

  it('keep requests on an overridden endpoint (an emulator) for SQS and S3', () => {
    expect(sqsClientConfig({ AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:4566' })).toEqual({ useQueueUrlAsEndpoint: false });
    expect(s3ClientConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' })).toEqual({ forcePathStyle: true });
    expect(s3ClientConfig({ AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:4566' })).toEqual({});
  });
});
