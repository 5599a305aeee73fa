// SDK client options for the Lambdas, read from their environment. In AWS they
// are empty (the SDK's defaults). When an endpoint override is set with the
// SDK's standard variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS / _S3) — an
// emulator such as fauxqs — two SDK defaults would send requests elsewhere:
// the SQS client would use each queue URL's host (fauxqs names a host that
// does not resolve) and the S3 client would put the bucket in the host name.

type Environment = Readonly<Record<string, string | undefined>>;

function overridden(env: Environment, service: 'SQS' | 'S3'): boolean {
  return Boolean(env.AWS_ENDPOINT_URL ?? env[`AWS_ENDPOINT_URL_${service}`]);
}

export function sqsClientConfig(env: Environment = process.env): { useQueueUrlAsEndpoint?: boolean } {
  return overridden(env, 'SQS') ? { useQueueUrlAsEndpoint: false } : {};
}

export function s3ClientConfig(env: Environment = process.env): { forcePathStyle?: boolean } {
  return overridden(env, 'S3') ? { forcePathStyle: true } : {};
}
