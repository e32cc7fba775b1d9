/** The performance issue's targets (issue 10), checked on every `npm run bench`. */

/** Cold overhead with secrets from the environment, as a fraction of the naive build's. */
export const COLD_VS_NAIVE = { authorizer: 0.1, callToken: 0.13, makeCall: 0.22 } as const;

/** (b) − (a) and (c) − (a) may exceed the AWS SDK client alone by at most this much. */
export const SDK_MARGIN_MS = 10;

/** Warm mean, as a multiple of its floor's mean. */
export const WARM_VS_FLOOR = { authorizer: 15, callToken: 7, makeCall: 3.5 } as const;

/** Cold-start bytes (entry and static chunks; on-demand AWS SDK chunks not counted). */
export const STARTUP_BYTES = { authorizer: 60 * 1024, callToken: 150 * 1024, makeCall: 350 * 1024 } as const;
