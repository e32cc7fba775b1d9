/** A gate that lets everything through: for tests about what one request logs or alerts, not about caps. */
import type { Gate } from '../../lib/rateLimits.js';

export const openGate: Gate = () => ({ pass: true, suppressed: 0, suppressedByCap: 0 });
