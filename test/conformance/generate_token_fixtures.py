#!/usr/bin/python3
"""Builds the legacy controller's Twilio Voice access tokens with twilio's Python helper.

The original controller (web2py, ../shared/seed: `token()`) issued its tokens with
twilio's Python library. This script builds the same tokens for several users and both
push platforms, with fixed fake SIDs and secret and a fixed clock, and writes their
inputs and decoded header/payload to test/fixtures/conformance/tokens.json. The
TypeScript test (test/conformance/tokenConformance.test.ts) issues tokens for the same
inputs and compares them, so `npm test` needs no Python.

Run from the repository root (Debian: apt-get install -y python3-twilio):

    /usr/bin/python3 test/conformance/generate_token_fixtures.py

The output is deterministic: running it again rewrites the same bytes.
"""
import base64
import json
import os
import sys
from unittest import mock

import twilio
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

# Fake but well-formed: the shapes the configuration accepts, values Twilio rejects.
INPUTS = {
    'TWILIO_ACCOUNT_SID': 'AC' + '0123456789abcdef' * 2,
    'TWILIO_API_KEY': 'SK' + 'fedcba9876543210' * 2,
    'TWILIO_API_KEY_SECRET': 'conformance-api-key-secret-not-real',
    'TWILIO_ML_APP_SID': 'AP' + '00112233445566778899aabbccddeeff',
    'TWILIO_ML_APNS_CERT_SID': 'CR' + 'a' * 32,
    'TWILIO_ML_FCM_CERT_SID': 'CR' + 'f' * 32,
}
USERS = [42, 1, 7, 987654321]
PLATFORMS = ['apns', 'fcm']
# The legacy controller passed no ttl: the helper's default.
TTL = 3600
NOW = 1700000000

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'conformance', 'tokens.json')


def b64url_json(segment):
    return json.loads(base64.urlsafe_b64decode(segment + '=' * (-len(segment) % 4)))


def legacy_token(user_id, platform):
    """The seed's token(), verbatim apart from the inputs."""
    if platform == 'apns':
        cert_sid = INPUTS['TWILIO_ML_APNS_CERT_SID']
    elif platform == 'fcm':
        cert_sid = INPUTS['TWILIO_ML_FCM_CERT_SID']
    identity_prefix = INPUTS['TWILIO_ML_APP_SID'] + '_uid'
    identity = identity_prefix + str(user_id)
    grant = VoiceGrant(push_credential_sid=cert_sid, outgoing_application_sid=INPUTS['TWILIO_ML_APP_SID'])
    token = AccessToken(
        INPUTS['TWILIO_ACCOUNT_SID'],
        INPUTS['TWILIO_API_KEY'],
        INPUTS['TWILIO_API_KEY_SECRET'],
        identity=identity,
    )
    token.add_grant(grant)
    return identity_prefix, token.to_jwt()


def main():
    cases = []
    with mock.patch('time.time', return_value=NOW):
        for user_id in USERS:
            for platform in PLATFORMS:
                identity_prefix, jwt = legacy_token(user_id, platform)
                header, payload, _signature = jwt.split('.')
                cases.append({
                    'userId': str(user_id),
                    'type': platform,
                    'identity_prefix': identity_prefix,
                    'jwt': jwt,
                    'header': b64url_json(header),
                    'payload': b64url_json(payload),
                })
    fixture = {
        'generator': 'test/conformance/generate_token_fixtures.py',
        'library': 'twilio (Python) ' + twilio.__version__,
        'notes': [
            'Tokens built as the legacy controller built them (seed token()), signed with inputs.TWILIO_API_KEY_SECRET.',
            'The clock is fixed at now; exp = now + ttl.',
            'Python puts nbf (= now) and no iat in the payload; twilio for Node puts iat and no nbf.',
            'Compare grants, iss, sub and the header alg/typ/cty; jti is "<api key>-<now>" in both.',
        ],
        'now': NOW,
        'ttl': TTL,
        'inputs': INPUTS,
        'cases': cases,
    }
    with open(OUTPUT, 'w', encoding='utf-8') as out:
        json.dump(fixture, out, indent=2, sort_keys=True)
        out.write('\n')
    print('wrote %d cases to %s' % (len(cases), os.path.relpath(OUTPUT)), file=sys.stderr)


if __name__ == '__main__':
    main()
