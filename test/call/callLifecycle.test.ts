/**
 * The life of a call through the local gateway over real HTTP, as Twilio drives it: make_call
 * (lifecycle settings on) answers a `<Dial>` whose action and status callback point back at
 * the gateway; Twilio then posts dial_status and call_status, each signed for exactly those
 * URLs; unsigned ones get 403 and change nothing.
 */
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localEnv } from '../../infra/local/localEnv.js';
import { type RunningGateway, startLocalGateway } from '../support/localGateway.js';
import { parseXml, type XmlElement } from './xml.js';

const TOKEN = 'lifecycle-auth-token-5d0c2a9e';
const { env: LOCAL } = localEnv({}, {});
/** What Twilio puts in every request of this account. */
const ACCOUNT = { AccountSid: LOCAL.TWILIO_ACCOUNT_SID as string };
const CALL_SID = 'CA00000000000000000000000000000042';

let gateway: RunningGateway;
beforeAll(async () => {
  gateway = await startLocalGateway({
    TWILIO_AUTH_TOKEN: TOKEN,
    DIAL_ACTION: 'true',
    ANSWER_ON_BRIDGE: 'true',
    CALL_STATUS_CALLBACK: 'true',
  });
});
afterAll(() => gateway.close());

/** What Twilio does: POST the parameters to the URL, signed for that URL. */
async function twilioPosts(url: string, params: Record<string, string>, sign = true) {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(sign ? { 'x-twilio-signature': getExpectedTwilioSignature(TOKEN, url, params) } : {}),
    },
    body: new URLSearchParams(params),
  });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

async function placeCall() {
  const answer = await twilioPosts(`${gateway.baseUrl}/api/v1/make_call`, {
    ...ACCOUNT,
    CallSid: CALL_SID,
    From: `client:${LOCAL.TWILIO_ML_APP_SID}_uid42`,
    to: '+14155552671',
  });
  const dial = parseXml(answer.body).root.children[0] as XmlElement;
  const number = dial.children[0] as XmlElement;
  return { dial, number };
}

describe('the life of a call on the local gateway', () => {
  it('make_call hands Twilio the gateway’s own dial_status and call_status URLs', async () => {
    const { dial, number } = await placeCall();

    expect(dial.attributes.action).toBe(`${gateway.baseUrl}/api/v1/dial_status?leg=number`);
    expect(dial.attributes.answerOnBridge).toBe('true');
    expect(number.attributes.statusCallback).toBe(`${gateway.baseUrl}/api/v1/call_status`);
  });

  it('Twilio’s call_status events, signed for the statusCallback URL, get 204', async () => {
    const { number } = await placeCall();
    const url = number.attributes.statusCallback as string;

    for (const [sequence, status] of ['initiated', 'ringing', 'in-progress', 'completed'].entries()) {
      const event = {
        ...ACCOUNT,
        CallSid: 'CA00000000000000000000000000000043',
        ParentCallSid: CALL_SID,
        CallStatus: status,
        To: '+14155552671',
        Direction: 'outbound-dial',
        SequenceNumber: String(sequence),
        ...(status === 'completed' ? { CallDuration: '61' } : {}),
      };
      const response = await twilioPosts(url, event);
      expect(response.status, status).toBe(204);
      expect(response.body).toBe('');
    }
  });

  it('Twilio’s dial_status, signed for the action URL, gets what the caller hears', async () => {
    const { dial } = await placeCall();
    const url = dial.attributes.action as string;

    const busy = await twilioPosts(url, { ...ACCOUNT, CallSid: CALL_SID, DialCallStatus: 'busy', DialCallSid: 'CA1' });
    const done = await twilioPosts(url, {
      ...ACCOUNT,
      CallSid: CALL_SID,
      DialCallStatus: 'completed',
      DialCallSid: 'CA1',
    });

    expect(busy.type).toBe('text/xml');
    expect(busy.body).toContain('<Say>The person you called is busy. Please try again later. Good bye.</Say>');
    expect(done.body).toContain('<Response><Hangup/></Response>');
  });

  it('a signed status event from another account gets 403', async () => {
    const url = `${gateway.baseUrl}/api/v1/call_status`;
    const other = await twilioPosts(url, { AccountSid: `AC${'9'.repeat(32)}`, CallStatus: 'completed' });
    const none = await twilioPosts(url, { CallStatus: 'completed' });

    expect([other.status, none.status]).toEqual([403, 403]);
  });

  it('unsigned dial_status and call_status requests get 403', async () => {
    const dialStatus = await twilioPosts(
      `${gateway.baseUrl}/api/v1/dial_status?leg=number`,
      { DialCallStatus: 'busy' },
      false,
    );
    const callStatus = await twilioPosts(`${gateway.baseUrl}/api/v1/call_status`, { CallStatus: 'completed' }, false);

    expect([dialStatus.status, callStatus.status]).toEqual([403, 403]);
  });
});
