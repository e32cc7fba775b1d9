/** TwiML for a routing decision, rendered by twilio's own VoiceResponse (it escapes). */
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import type { CallDecision } from './callRouting.js';

export const MESSAGES = {
  greeting: 'Congratulations! You have just made your first call! Good bye.',
  emergency:
    'This app cannot place emergency calls. Please hang up and dial emergency services from your phone. Good bye.',
  invalid: 'The number you dialed is not valid. Good bye.',
  blocked: 'Calls to this number are not allowed. Good bye.',
  /** Our failure (configuration, secret store): nothing was dialed. */
  tryLater: 'We cannot place your call right now. Please try again later. Good bye.',
} as const;

/** A response that only speaks. */
export function sayTwiml(message: string): string {
  const response = new VoiceResponse();
  response.say(message);
  return response.toString();
}

export function callTwiml(decision: CallDecision, timeLimit: number): string {
  const response = new VoiceResponse();
  switch (decision.kind) {
    case 'number':
      response.dial({ callerId: decision.callerId, timeLimit }).number(decision.number);
      break;
    case 'client':
      response.dial({ callerId: decision.callerId, timeLimit }).client(decision.identity);
      break;
    default:
      return sayTwiml(MESSAGES[decision.kind]);
  }
  return response.toString();
}
