/** TwiML for the voice webhooks, rendered by twilio's own VoiceResponse (it escapes). */
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import type { CallDecision } from './callRouting.js';

export const MESSAGES = {
  greeting: 'Congratulations! You have just made your first call! Good bye.',
  emergency:
    'This app cannot place emergency calls. Please hang up and dial emergency services from your phone. Good bye.',
  invalid: 'The number you dialed is not valid. Good bye.',
  blocked: 'Calls to this number are not allowed. Good bye.',
  /** The original's "authentication failure: invalid caller credentials". */
  unauthorised: 'This call could not be authorised. Good bye.',
  /** A per-caller limit or the service-wide breaker refused the call. */
  limited: 'You have reached the limit of calls for now. Please try again later. Good bye.',
  /** Our failure (configuration, secret store): nothing was dialed. */
  tryLater: 'We cannot place your call right now. Please try again later. Good bye.',
  // How a dial ended (dial_status).
  busy: 'The person you called is busy. Please try again later. Good bye.',
  noAnswer: 'The person you called is not answering. Please try again later. Good bye.',
  notConnected: 'The call could not be connected. Please try again later. Good bye.',
} as const;

type Message = (typeof MESSAGES)[keyof typeof MESSAGES];

/** The answers that only speak or hang up are constants: each rendered once per container. */
const spoken = new Map<Message, string>();
let hangup: string | undefined;

/** A response that only speaks. */
export function sayTwiml(message: Message): string {
  let xml = spoken.get(message);
  if (xml === undefined) {
    const response = new VoiceResponse();
    response.say(message);
    xml = response.toString();
    spoken.set(message, xml);
  }
  return xml;
}

/** A response that ends the call. */
export function hangupTwiml(): string {
  if (hangup === undefined) {
    const response = new VoiceResponse();
    response.hangup();
    hangup = response.toString();
  }
  return hangup;
}

/** What a `<Dial>` carries besides its caller ID. Unset options add no attribute. */
export interface DialOptions {
  timeLimit: number;
  /** `action` (POST): where Twilio reports how the dial ended; `leg=number|client` is added to its query. */
  actionUrl?: string;
  timeout?: number;
  answerOnBridge?: boolean;
  /** `statusCallback` on the `<Number>` or `<Client>`, with every event, POST. */
  statusCallbackUrl?: string;
}

/** Every event of a leg; VoiceResponse writes them space-separated. */
export const STATUS_CALLBACK_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;

/**
 * Attributes in name order: how twilio's Python helper writes them (the legacy controller's
 * library), so the TwiML is byte for byte the original's with every setting on or off.
 */
function sortedByName<T extends Record<string, unknown>>(attributes: T): T {
  return Object.fromEntries(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1))) as T;
}

function dialAttributes(leg: 'number' | 'client', callerId: string, options: DialOptions) {
  return sortedByName({
    callerId,
    timeLimit: options.timeLimit,
    ...(options.actionUrl
      ? { action: `${options.actionUrl}${options.actionUrl.includes('?') ? '&' : '?'}leg=${leg}`, method: 'POST' }
      : {}),
    ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
    ...(options.answerOnBridge ? { answerOnBridge: true } : {}),
  });
}

function nounAttributes(options: DialOptions) {
  return options.statusCallbackUrl
    ? {
        statusCallback: options.statusCallbackUrl,
        statusCallbackEvent: [...STATUS_CALLBACK_EVENTS],
        statusCallbackMethod: 'POST',
      }
    : {};
}

export function callTwiml(decision: CallDecision, options: DialOptions): string {
  const response = new VoiceResponse();
  switch (decision.kind) {
    case 'number':
    case 'support':
      response
        .dial(dialAttributes('number', decision.callerId, options))
        .number(nounAttributes(options), decision.number);
      break;
    case 'client':
      response
        .dial(dialAttributes('client', decision.callerId, options))
        .client(nounAttributes(options), decision.identity);
      break;
    default:
      return sayTwiml(MESSAGES[decision.kind]);
  }
  return response.toString();
}
