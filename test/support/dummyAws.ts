/** Credentials for the AWS SDK against the tests' loopback stand-ins (dynalite, the Secrets Manager endpoint), which accept any. */

/** As an SDK client's configuration. */
export const DUMMY_AWS = {
  credentials: { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret-access-key' },
  region: 'us-east-1',
} as const;

/** As the environment variables the SDK reads (a child process's, or this one's). */
export const DUMMY_AWS_ENV = {
  AWS_ACCESS_KEY_ID: DUMMY_AWS.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DUMMY_AWS.credentials.secretAccessKey,
  AWS_REGION: DUMMY_AWS.region,
} as const;
