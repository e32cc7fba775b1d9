#!/usr/bin/python3
"""Runs the legacy controller's make_call() with twilio's Python helper over a corpus.

The original controller (web2py, ../shared/seed: `make_call()`) answered Twilio's voice
webhook with TwiML from twilio's Python `VoiceResponse`. This script runs that logic,
as written in the seed, over the corpus below and writes, for every input, the TwiML the
original produced to test/fixtures/conformance/make_call.json.

Where issue 3's rules differ from the original on purpose, the case names the rules that
make the difference (`differences`), the values those rules call for (`expect`, written
by hand from the issue's rules), and `expected`: the TwiML the original would have
produced with those values, rendered by the same Python helper. The TypeScript test
(test/call/conformance.test.ts) runs our handler on every input and checks that its
TwiML is byte-identical to `python` where no difference is declared, and otherwise
obeys the named rules and is byte-identical to `expected`.

The callers are ours. make_call now answers only calls from identities this service issues
(Twilio's `From` is `client:<TWILIO_ML_APP_SID>_uid<user id>`, see lib/voiceToken.ts), so
the corpus's app users (DRIVER, RIDER) are such identities, and every input carries Twilio's
`From` as Twilio sends it for a call from one of them (DRIVER unless the case names another).
The original never read `From`, so giving an input one does not change its `python`. The
inputs whose point is Twilio's `From` (absent, empty, a phone number, an identity we did not
issue) keep it and declare `caller-not-ours`: this is where the new caller rule changes the
original's TwiML, and the generator checks that a case declares it exactly when its `From`
is not ours.

`settingsOn` does the same in a second configuration: the settings that make our <Dial>
carry more attributes (DIAL_ACTION, DIAL_TIMEOUT, ANSWER_ON_BRIDGE, CALL_STATUS_CALLBACK,
all off in `config`), a fixed PUBLIC_BASE_URL and a SUPPORT_NUMBER. Every corpus input
the original dialed runs through the original's logic with the Python helper given the
same attributes (`dial(action=, method=, timeout=, answer_on_bridge=)`,
`number(status_callback=, status_callback_event=, status_callback_method=)`). The helper
writes attributes sorted by name; lib/twiml.ts gives them to twilio for Node in that
order too, so the bytes agree.

It also writes real-shaped API Gateway (HTTP API, payload 2.0) events for make_call,
signed with the Python helper's RequestValidator, to test/fixtures/events/.

Run from anywhere (Debian: apt-get install -y python3-twilio):

    /usr/bin/python3 test/conformance/generate_call_fixtures.py

The output is deterministic: running it again rewrites the same bytes.
"""
import base64
import json
import os
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

import twilio
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'fixtures')

# The policy both sides run with. TWILIO_FROM and TWILIO_CALL_TIME_LIMIT are the
# original's constants; the rest are issue 3's settings (the original had none).
CONFIG = {
    'TWILIO_ACCOUNT_SID': 'AC' + '0123456789abcdef' * 2,
    'TWILIO_ML_APP_SID': 'AP' + '00112233445566778899aabbccddeeff',
    'TWILIO_FROM': '+14155550100',
    'TWILIO_CALLER_IDS': '+14155550101,+12125550199',
    'TWILIO_CALL_TIME_LIMIT': '3600',
    'DEFAULT_COUNTRY': 'US',
    'ALLOWED_DIAL_COUNTRIES': 'US,CA',
    'EMERGENCY_NUMBERS': '911,112,999,000,110,119,118,933',
}
TWILIO_FROM = CONFIG['TWILIO_FROM']
ACCOUNT_SID = CONFIG['TWILIO_ACCOUNT_SID']
APP_SID = CONFIG['TWILIO_ML_APP_SID']
# Settings both sides leave at the code's default (not in CONFIG, so not set when the test
# runs the handler); written to the fixture because the rules below depend on them.
DEFAULTS = {
    'BLOCKED_NUMBER_TYPES': 'PREMIUM_RATE,SHARED_COST,PERSONAL_NUMBER,PAGER,UAN,VOICEMAIL',
}
TWILIO_CALL_TIME_LIMIT = int(CONFIG['TWILIO_CALL_TIME_LIMIT'])

# The second configuration: the life-of-a-call settings on (all off by default, and in
# CONFIG), the URLs we hand Twilio built on a fixed PUBLIC_BASE_URL, and the support line.
# +1 800 555 0100: a valid US toll-free number for libphonenumber (not premium or shared cost).
SETTINGS_ON = {
    'PUBLIC_BASE_URL': 'https://voice.example.com',
    'DIAL_ACTION': 'true',
    'DIAL_TIMEOUT': '20',
    'ANSWER_ON_BRIDGE': 'true',
    'CALL_STATUS_CALLBACK': 'true',
    'SUPPORT_NUMBER': '+18005550100',
}
CONFIG_ON = {**CONFIG, **SETTINGS_ON}
DIAL_STATUS_URL = SETTINGS_ON['PUBLIC_BASE_URL'] + '/api/v1/dial_status'
CALL_STATUS_URL = SETTINGS_ON['PUBLIC_BASE_URL'] + '/api/v1/call_status'
STATUS_CALLBACK_EVENT = 'initiated ringing answered completed'
# The order in which twilio for Node writes our attributes: lib/twiml.ts sorts them by name,
# as the helper does, so that the bytes agree.
OUR_ATTRIBUTE_ORDER = sorted([
    'callerId', 'timeLimit', 'action', 'method', 'timeout', 'answerOnBridge',
    'statusCallback', 'statusCallbackEvent', 'statusCallbackMethod',
])


class Settings(object):
    """What the <Dial> and its noun carry besides the original's callerId and timeLimit."""

    def __init__(self, config):
        self.dial_action = config.get('DIAL_ACTION') == 'true'
        self.timeout = int(config.get('DIAL_TIMEOUT', '30'))
        self.answer_on_bridge = config.get('ANSWER_ON_BRIDGE') == 'true'
        self.status_callback = config.get('CALL_STATUS_CALLBACK') == 'true'
        self.support_number = config.get('SUPPORT_NUMBER')

    def dial(self, leg):
        attributes = {}
        if self.dial_action:
            attributes.update(action=DIAL_STATUS_URL + '?leg=' + leg, method='POST', timeout=self.timeout)
        if self.answer_on_bridge:
            attributes.update(answer_on_bridge=True)
        return attributes

    def noun(self):
        if not self.status_callback:
            return {}
        return {
            'status_callback': CALL_STATUS_URL,
            'status_callback_event': STATUS_CALLBACK_EVENT,
            'status_callback_method': 'POST',
        }


OFF = Settings(CONFIG)
ON = Settings(CONFIG_ON)
assert not (OFF.dial('number') or OFF.noun() or OFF.support_number)

# The spoken messages, as issue 3 words them (the greeting is the original's own).
MESSAGES = {
    'greeting': 'Congratulations! You have just made your first call! Good bye.',
    'emergency': 'This app cannot place emergency calls. Please hang up and dial emergency services '
    'from your phone. Good bye.',
    'invalid': 'The number you dialed is not valid. Good bye.',
    'blocked': 'Calls to this number are not allowed. Good bye.',
    'unauthorised': 'This call could not be authorised. Good bye.',
}

# What each rule that differs from the original does (issue 3, "Routing").
RULES = {
    'normalised-e164': 'A phone destination is parsed (default country DEFAULT_COUNTRY) and dialed in E.164.',
    'to-trimmed': '`to` is trimmed of surrounding whitespace before routing.',
    'empty-after-trim': '`to` that is only whitespace is empty: the greeting.',
    'client-prefix-removed': 'A leading `client:` is removed from a client destination.',
    'invalid-destination': 'A number that is not valid, or a client identity outside ^[A-Za-z0-9_]{1,121}$, '
    'gets the not-valid message.',
    'destination-blocked': 'A number outside ALLOWED_DIAL_COUNTRIES, or of a type in BLOCKED_NUMBER_TYPES '
    '(default PREMIUM_RATE, SHARED_COST, PERSONAL_NUMBER, PAGER, UAN, VOICEMAIL), gets the not-allowed message '
    'and an alert.',
    'emergency': 'A number whose digits are one of EMERGENCY_NUMBERS gets the emergency message and an alert.',
    'caller-not-ours': 'Twilio\'s From must be an identity this service issues, client:<TWILIO_ML_APP_SID>_uid<user '
    'id> (user id: 1 to 64 of [A-Za-z0-9_], compared as sent); anything else (missing, empty, a phone number, an '
    'identity we did not issue, another TwiML app\'s) gets the unauthorised message and an alert, and nothing is '
    'dialed. Checked before anything else (before the greeting too); the app\'s own `from` never stands in for it. '
    'The original\'s "authentication failure: invalid caller credentials", which it never enforced.',
    'caller-id-replaced': 'The caller ID is limited to owned numbers (phone leg) or to owned numbers and the '
    'caller\'s own Twilio From (client leg); anything else is replaced (TWILIO_FROM on a phone leg, From on a '
    'client leg).',
    'caller-id-normalised': 'An owned number given as caller ID is used in E.164.',
    # The second configuration (settingsOn).
    'dial-attributes-when-enabled': 'With DIAL_ACTION on, <Dial> carries action="<base>/api/v1/dial_status'
    '?leg=number|client", method="POST" and timeout="<DIAL_TIMEOUT>"; with ANSWER_ON_BRIDGE, answerOnBridge="true"; '
    'with CALL_STATUS_CALLBACK, the <Number> or <Client> carries statusCallback="<base>/api/v1/call_status", '
    'statusCallbackEvent="initiated ringing answered completed" and statusCallbackMethod="POST" (<base>: '
    'PUBLIC_BASE_URL). The original had no such settings; settingsOn renders its logic with the same attributes, '
    'so no settingsOn case declares this rule: every <Dial> there obeys it.',
    'support-line': 'With SUPPORT_NUMBER set, `to` equal to "support" (trimmed, any case) dials SUPPORT_NUMBER with '
    'TWILIO_FROM as caller ID; without it, "support" is an app user, as in the original.',
}

ABSENT = object()


def make_call(to, from_, settings=OFF):
    """The seed's make_call(), verbatim apart from reading its inputs as arguments and, in
    the second configuration, giving <Dial> and its noun the attributes `settings` add (the
    leg is decided first because the dial action names it; with the settings off, as in the
    seed, nothing is added)."""
    resp = VoiceResponse()

    if to is None or len(to) == 0:
        # Default message for test calls
        resp.say("Congratulations! You have just made your first call! Good bye.")
    else:
        phone_pattern = re.compile(r"^[\d\+\-\(\) ]+$")
        leg = 'number' if phone_pattern.match(to) else 'client'

        # Configure caller ID
        if from_ is not None:
            dial = resp.dial(callerId=from_, time_limit=TWILIO_CALL_TIME_LIMIT, **settings.dial(leg))
        else:
            dial = resp.dial(callerId=TWILIO_FROM, time_limit=TWILIO_CALL_TIME_LIMIT, **settings.dial(leg))

        # Route to phone number or client
        if leg == 'number':
            dial.number(to, **settings.noun())      # Route to phone number
        else:
            dial.client(to, **settings.noun())      # Route to Twilio client
    return resp


def expected_twiml(to, from_, expect, settings=OFF):
    """The original's TwiML with the values a differing rule calls for, from the same helper."""
    resp = VoiceResponse()
    if 'say' in expect:
        resp.say(MESSAGES[expect['say']])
        return resp
    caller_id = expect.get('callerId', from_ if from_ is not None else TWILIO_FROM)
    if 'number' in expect or ('client' not in expect and re.match(r"^[\d\+\-\(\) ]+$", to)):
        leg, destination = 'number', expect.get('number', to)
    else:
        leg, destination = 'client', expect.get('client', to)
    dial = resp.dial(callerId=caller_id, time_limit=TWILIO_CALL_TIME_LIMIT, **settings.dial(leg))
    if leg == 'number':
        dial.number(destination, **settings.noun())
    else:
        dial.client(destination, **settings.noun())
    return resp


def in_order(resp, order):
    """The helper's document, serialised as the helper does (ElementTree), with every
    element's attributes in `order` instead of sorted."""
    root = resp.xml()
    for element in root.iter():
        assert set(element.attrib) <= set(order), sorted(element.attrib)
        element.attrib = {name: element.attrib[name] for name in order if name in element.attrib}
    return '<?xml version="1.0" encoding="UTF-8"?>{}'.format(ET.tostring(root).decode('utf-8'))


# The corpus's app users: identities this service issues (lib/voiceToken.ts), as Twilio's
# From gives them for a call from the Voice SDK with one of our tokens.
OUR_IDENTITY_PREFIX = 'client:' + APP_SID + '_uid'
DRIVER = OUR_IDENTITY_PREFIX + '123'
RIDER = OUR_IDENTITY_PREFIX + '77'
OUR_CALLER = re.compile(r'\A' + re.escape(OUR_IDENTITY_PREFIX) + r'[A-Za-z0-9_]{1,64}\Z')
# Identities we did not issue: the legacy corpus's own naming, and another TwiML app's.
NOT_OUR_NAMING = 'client:driver_123'
OTHER_APP_SID = 'AP' + 'ffeeddccbbaa99887766554433221100'
OTHER_APP = 'client:' + OTHER_APP_SID + '_uid42'


def is_ours(twilio_from):
    """Our rule (lib/callRouting.ts, callerUserId), written again: From is an identity we issue."""
    return twilio_from is not ABSENT and OUR_CALLER.match(twilio_from) is not None


def case(case_id, to=ABSENT, from_=ABSENT, twilio_from=DRIVER, differences=(), note=None, on=None, **expect):
    """`twilio_from`: Twilio's From, by default DRIVER (every call from one of our app users
    carries it); ABSENT leaves it out. `on`: the case in settingsOn where our rules treat it
    otherwise there (the support line): its own `differences`, `expect` and `note`."""
    return {
        'id': case_id,
        'to': to,
        'from': from_,
        'From': twilio_from,
        'differences': list(differences),
        'expect': expect,
        'note': note,
        'on': on,
    }


INVALID = {'say': 'invalid'}
BLOCKED = {'say': 'blocked'}
EMERGENCY = {'say': 'emergency'}
GREETING = {'say': 'greeting'}
UNAUTHORISED = {'say': 'unauthorised'}
NOT_OURS = ['caller-not-ours']
SUPPORT_LINE = {
    'differences': ['support-line'],
    'expect': {'number': SETTINGS_ON['SUPPORT_NUMBER'], 'callerId': TWILIO_FROM},
}

CORPUS = [
    # The seed's two examples.
    case('seed-example-number', '+15551234567', DRIVER, DRIVER, ['invalid-destination'],
         note='+1 555 123 4567 is not a valid number (555 is not an area code); the seed\'s caller, '
         'client:user_123, is one of ours here (DRIVER, user 123)', **INVALID),
    case('seed-example-client', 'passenger_456', DRIVER, DRIVER),
    # Empty and absent values.
    case('to-absent', twilio_from=ABSENT, differences=NOT_OURS,
         note='no caller at all: refused before the greeting', **UNAUTHORISED),
    case('to-empty', ''),
    case('to-absent-from-owned', from_='+14155550101'),
    case('to-absent-with-twilio-from', twilio_from=DRIVER),
    case('to-empty-without-twilio-from', '', twilio_from=ABSENT, differences=NOT_OURS,
         note='refused before the greeting', **UNAUTHORISED),
    case('to-space', ' ', differences=['empty-after-trim'], **GREETING),
    case('to-tab-newline', '\t\n', twilio_from=DRIVER, differences=['empty-after-trim'], **GREETING),
    # Clients.
    case('client-no-from-no-twilio-from', 'passenger_456', twilio_from=ABSENT, differences=NOT_OURS,
         **UNAUTHORISED),
    case('client-from-without-twilio-from', 'passenger_456', DRIVER, ABSENT, NOT_OURS,
         note='`from` names a user of ours, but only Twilio\'s From says who is calling', **UNAUTHORISED),
    case('client-from-other-user', 'passenger_456', DRIVER, RIDER, ['caller-id-replaced'], callerId=RIDER),
    case('client-from-absent-with-twilio-from', 'passenger_456', twilio_from=RIDER,
         differences=['caller-id-replaced'], callerId=RIDER),
    case('client-from-empty-with-twilio-from', 'passenger_456', '', RIDER, ['caller-id-replaced'], callerId=RIDER),
    case('client-from-empty-no-twilio-from', 'passenger_456', '', ABSENT, NOT_OURS, **UNAUTHORISED),
    case('client-from-owned-number', 'passenger_456', '+14155550101', RIDER),
    case('client-from-twilio-from-number', 'passenger_456', TWILIO_FROM, RIDER),
    case('client-from-unowned-number', 'passenger_456', '+12127365000', RIDER, ['caller-id-replaced'],
         callerId=RIDER),
    case('client-prefix', 'client:passenger_456', DRIVER, DRIVER, ['client-prefix-removed'], client='passenger_456'),
    case('client-prefix-only', 'client:', twilio_from=DRIVER, differences=['invalid-destination'], **INVALID),
    case('client-prefix-twice', 'client:client:bob', DRIVER, DRIVER, ['invalid-destination'], **INVALID),
    case('client-121-characters', 'a' * 121, DRIVER, DRIVER),
    case('client-122-characters', 'a' * 122, DRIVER, DRIVER, ['invalid-destination'], **INVALID),
    case('client-with-space', 'passenger 456', DRIVER, DRIVER, ['invalid-destination'], **INVALID),
    case('client-email', 'rider@example.com', DRIVER, DRIVER, ['invalid-destination'], **INVALID),
    case('client-word-null', 'null', differences=['caller-id-replaced'], callerId=DRIVER),
    case('client-surrounding-spaces', '  passenger_456 ', DRIVER, DRIVER, ['to-trimmed'], client='passenger_456'),
    case('client-trailing-tab', 'passenger_456\t', DRIVER, DRIVER, ['to-trimmed'], client='passenger_456'),
    case('client-nbsp', '\u00a0passenger_456\u00a0', DRIVER, DRIVER, ['to-trimmed'], client='passenger_456'),
    # The support line: an app user named "support" without SUPPORT_NUMBER (as in the original), SUPPORT_NUMBER with it.
    case('support', 'support', DRIVER, DRIVER, on=SUPPORT_LINE),
    case('support-padded-capitalised', ' Support ', DRIVER, DRIVER, ['to-trimmed'], client='Support', on=SUPPORT_LINE),
    case('support-capitals', 'SUPPORT', DRIVER, DRIVER, on=SUPPORT_LINE),
    case('support-from-owned-number', 'support', '+14155550101', RIDER, on=SUPPORT_LINE),
    case('support-client-prefix', 'client:support', DRIVER, DRIVER, ['client-prefix-removed'], client='support',
         note='with SUPPORT_NUMBER set too, `client:support` is the app user named support'),
    case('client-letters-and-dashes', '1-800-FLOWERS', DRIVER, DRIVER, ['invalid-destination'], **INVALID),
    # E.164 numbers.
    case('e164-us-from-owned', '+14155552671', '+14155550101', DRIVER),
    case('e164-us-from-twilio-from', '+12127365000', TWILIO_FROM, DRIVER),
    case('e164-us-from-absent', '+14155552671', twilio_from=DRIVER),
    case('e164-us-nothing-else', '+14155552671', twilio_from=ABSENT, differences=NOT_OURS, **UNAUTHORISED),
    case('e164-ca', '+15062345678', '+12125550199', DRIVER),
    case('e164-toll-free', '+18005550199'),
    case('e164-from-client', '+14155552671', DRIVER, DRIVER, ['caller-id-replaced'], callerId=TWILIO_FROM),
    case('e164-from-unowned', '+14155552671', '+12127365000', DRIVER, ['caller-id-replaced'],
         callerId=TWILIO_FROM),
    case('e164-from-empty', '+14155552671', '', DRIVER, ['caller-id-replaced'], callerId=TWILIO_FROM),
    case('e164-from-formatted-owned', '+14155552671', '+1 (212) 555-0199', DRIVER, ['caller-id-normalised'],
         callerId='+12125550199'),
    # Formatted numbers.
    case('formatted-international', '+1 (415) 555-2671', '+14155550101', DRIVER, ['normalised-e164'],
         number='+14155552671'),
    case('formatted-national-parentheses', '(415) 555-2671', differences=['normalised-e164'],
         number='+14155552671'),
    case('formatted-national-dashes', '415-555-2671', TWILIO_FROM, differences=['normalised-e164'],
         number='+14155552671'),
    case('formatted-national-digits', '4155552671', differences=['normalised-e164'], number='+14155552671'),
    case('formatted-trunk-prefix', '1-415-555-2671', differences=['normalised-e164'], number='+14155552671'),
    case('formatted-canada', '+1 506 234 5678', differences=['normalised-e164'], number='+15062345678'),
    case('formatted-from-client', '(212) 736-5000', DRIVER, DRIVER, ['normalised-e164', 'caller-id-replaced'],
         number='+12127365000', callerId=TWILIO_FROM),
    case('number-surrounding-spaces', '  +14155552671  ', differences=['normalised-e164'], number='+14155552671'),
    case('number-trailing-newline', '+14155552671\n', differences=['normalised-e164'], number='+14155552671',
         note="Python's `$` also matches before a final newline, so the original dialed it"),
    # Numbers that are not valid.
    case('invalid-seed-formatted', '+1 (555) 123-4567', differences=['invalid-destination'], **INVALID),
    case('invalid-too-short', '123', differences=['invalid-destination'], **INVALID),
    case('invalid-plus-only', '+', differences=['invalid-destination'], **INVALID),
    case('invalid-punctuation-only', '()-', differences=['invalid-destination'], **INVALID),
    case('invalid-zero', '0', differences=['invalid-destination'], **INVALID),
    # Destinations the policy blocks.
    case('blocked-jamaica', '+18765230123', differences=['destination-blocked'], **BLOCKED),
    case('blocked-jamaica-formatted', '+1 (876) 555-0100', DRIVER, DRIVER, ['destination-blocked'], **BLOCKED),
    case('blocked-dominican-republic', '+1 809 234 5678', differences=['destination-blocked'], **BLOCKED),
    case('blocked-bahamas-national', '242-359-1234', differences=['destination-blocked'], **BLOCKED),
    case('blocked-premium-rate', '+19002345678', differences=['destination-blocked'], **BLOCKED),
    case('blocked-premium-rate-national', '1-900-234-5678', '+14155550101', differences=['destination-blocked'],
         **BLOCKED),
    case('blocked-united-kingdom', '+44 20 7183 8750', differences=['destination-blocked'], **BLOCKED),
    case('blocked-france-shared-cost', '+33 810 12 34 56', differences=['destination-blocked'], **BLOCKED),
    case('blocked-personal-number', '+1 500 234 5678', differences=['destination-blocked'],
         note='a US 5XX personal number (libphonenumber: PERSONAL_NUMBER), in BLOCKED_NUMBER_TYPES by default; '
         'no other corpus number is of a type the new default adds', **BLOCKED),
    # Emergency numbers.
    case('emergency-911', '911', differences=['emergency'], **EMERGENCY),
    case('emergency-112', '112', DRIVER, DRIVER, ['emergency'], **EMERGENCY),
    case('emergency-999', '999', '+14155550101', differences=['emergency'], **EMERGENCY),
    case('emergency-000', '000', differences=['emergency'], **EMERGENCY),
    case('emergency-parentheses', '(911)', differences=['emergency'], **EMERGENCY),
    case('emergency-dashes', '9-1-1', differences=['emergency'], **EMERGENCY),
    case('emergency-spaces', ' 911 ', differences=['emergency'], **EMERGENCY),
    # XML metacharacters.
    case('xml-to-markup', '<Say>hi</Say>', differences=['invalid-destination'], **INVALID),
    case('xml-to-ampersand', 'alice&bob', differences=['invalid-destination'], **INVALID),
    case('xml-to-injection', '"><Number>+19002345678</Number><Client>x', differences=['invalid-destination'],
         **INVALID),
    case('xml-from-metacharacters', 'passenger_456', 'a&b<c"d\'e', differences=['caller-id-replaced'],
         callerId=DRIVER, note='`from` is not an owned number, so it never reaches the TwiML'),
    case('xml-from-greater-than', 'passenger_456', 'a>b', differences=['caller-id-replaced'], callerId=DRIVER,
         note='was serialisation-only (a>b against a&gt;b); `from` no longer reaches the TwiML'),
    case('xml-from-injection-with-twilio-from', 'passenger_456', '"/><Number>+19002345678</Number><Dial callerId="',
         RIDER, ['caller-id-replaced'], callerId=RIDER),
    case('xml-from-injection-phone-leg', '+14155552671', '"/><Number>+19002345678</Number><Dial callerId="',
         DRIVER, ['caller-id-replaced'], callerId=TWILIO_FROM),
    # Unicode.
    case('unicode-to-letters', '\u00e5lice', differences=['invalid-destination'], **INVALID),
    case('unicode-to-arabic-indic-digits', '\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660',
         differences=['invalid-destination'], note="Python's \\d matches any Unicode digit, so the original dialed it",
         **INVALID),
    case('unicode-to-emoji', '\U0001f4de', differences=['invalid-destination'], **INVALID),
    case('unicode-from-without-twilio-from', 'passenger_456', 'Zo\u00eb \U0001f4de', ABSENT, NOT_OURS,
         note='was serialisation-only', **UNAUTHORISED),
    case('unicode-from-with-twilio-from', 'passenger_456', 'Zo\u00eb', RIDER, ['caller-id-replaced'],
         callerId=RIDER),
    # Control characters.
    case('control-to', 'passenger_456\u0007', DRIVER, DRIVER, ['invalid-destination'], **INVALID),
    case('control-from-without-twilio-from', 'passenger_456', 'x\u0001y', ABSENT, NOT_OURS,
         note='was xml-invalid-character', **UNAUTHORISED),
    case('control-from-with-twilio-from', 'passenger_456', 'x\u0001y', differences=['caller-id-replaced'],
         callerId=DRIVER, note='`from` is not an owned number, so it never reaches the TwiML (the original\'s was '
         'not XML)'),
    case('control-twilio-from', 'passenger_456', twilio_from='client:a\u000b', differences=NOT_OURS,
         note='was xml-invalid-character', **UNAUTHORISED),
    # Twilio's From: only identities this service issues call (caller-not-ours), whatever `to` and `from` say.
    case('caller-missing', '+14155552671', '+14155550101', ABSENT, NOT_OURS, **UNAUTHORISED),
    case('caller-empty', '+14155552671', twilio_from='', differences=NOT_OURS, **UNAUTHORISED),
    case('caller-phone-number', 'passenger_456', twilio_from='+14155550101', differences=NOT_OURS,
         note='a phone call into the app, not a call from one of our app users', **UNAUTHORISED),
    case('caller-not-our-naming', 'passenger_456', NOT_OUR_NAMING, NOT_OUR_NAMING, NOT_OURS,
         note='the identities the legacy apps used (and this corpus did before)', **UNAUTHORISED),
    case('caller-other-app', '+14155552671', twilio_from=OTHER_APP, differences=NOT_OURS,
         note='another TwiML app\'s identity, same form', **UNAUTHORISED),
    case('caller-empty-user-id', 'passenger_456', twilio_from=OUR_IDENTITY_PREFIX, differences=NOT_OURS,
         **UNAUTHORISED),
    case('caller-user-id-65-characters', 'passenger_456', twilio_from=OUR_IDENTITY_PREFIX + '1' * 65,
         differences=NOT_OURS, **UNAUTHORISED),
    case('caller-user-id-64-characters', 'passenger_456', OUR_IDENTITY_PREFIX + '1' * 64,
         OUR_IDENTITY_PREFIX + '1' * 64, note='the longest user id we issue: ours'),
    case('caller-user-id-other-character', 'passenger_456', twilio_from=OUR_IDENTITY_PREFIX + '4-2',
         differences=NOT_OURS, **UNAUTHORISED),
    case('caller-trailing-space', 'passenger_456', twilio_from=DRIVER + ' ', differences=NOT_OURS,
         note='From is compared as sent, not trimmed', **UNAUTHORISED),
    case('caller-without-client-prefix', 'passenger_456', twilio_from=DRIVER[len('client:'):],
         differences=NOT_OURS, **UNAUTHORISED),
    case('caller-app-sid-lower-case', 'passenger_456', twilio_from=DRIVER.replace('AP', 'ap', 1),
         differences=NOT_OURS, **UNAUTHORISED),
    case('caller-from-names-ours', '+14155552671', DRIVER, ABSENT, NOT_OURS,
         note='the app\'s `from` never stands in for Twilio\'s From', **UNAUTHORISED),
    case('caller-from-names-ours-to-empty', '', DRIVER, ABSENT, NOT_OURS,
         note='refused before the greeting, whatever `from` says', **UNAUTHORISED),
]


def value(v):
    return None if v is ABSENT else v


def build_case(c, settings):
    """One corpus input through the original (`python`) and, where rules differ, `expected`."""
    on = settings is ON and c['on'] or {}
    differences = list(on.get('differences', c['differences']))
    expect = on.get('expect', c['expect'])
    note = on.get('note', c['note'])
    to, from_ = value(c['to']), value(c['from'])
    out = {'id': c['id'], 'input': {}}
    for name in ('to', 'from', 'From'):
        if c[name] is not ABSENT:
            out['input'][name] = c[name]
    python = make_call(to, from_, settings)
    out['python'] = str(python)
    # in_order() is the helper's own serialisation: sorted, it gives the helper's bytes.
    assert in_order(python, sorted(OUR_ATTRIBUTE_ORDER)) == out['python'], c['id']
    expected = expected_twiml(to, from_, expect, settings) if expect else python
    # Our order is the helper's: sorted by name.
    assert in_order(expected, OUR_ATTRIBUTE_ORDER) == str(expected), c['id']
    if differences:
        assert all(rule in RULES for rule in differences), c['id']
        out['differences'] = differences
        # Every difference calls for values, and the helper renders them.
        assert expect, c['id']
        out['expect'] = expect
        out['expected'] = in_order(expected, OUR_ATTRIBUTE_ORDER)
        assert out['expected'] != out['python'], c['id']
    if note:
        out['note'] = note
    return out


def build_cases():
    seen = set()
    for c in CORPUS:
        assert c['id'] not in seen, c['id']
        seen.add(c['id'])
        # The new caller rule is declared exactly where Twilio's From is not one of ours, and
        # then it is the only rule: nothing else is looked at.
        assert ('caller-not-ours' in c['differences']) == (not is_ours(c['From'])), c['id']
        if not is_ours(c['From']):
            assert c['differences'] == NOT_OURS and c['expect'] == UNAUTHORISED and not c['on'], c['id']
        assert not c['on'] or set(c['on']) <= {'differences', 'expect', 'note'}, c['id']
    return [build_case(c, OFF) for c in CORPUS]


def build_cases_on():
    """Every input the original dialed (a `to` that is not empty), in the second configuration."""
    return [build_case(c, ON) for c in CORPUS if value(c['to'])]


# Real-shaped events, as HTTP API (payload 2.0) hands Twilio's webhook to Lambda.
AUTH_TOKEN = '0c4f5e2a9b7d4e6f8a1b3c5d7e9f1a2b'
HOST = 'abc123defg.execute-api.us-east-1.amazonaws.com'
PATH = '/api/v1/make_call'
CALL_SID = 'CA' + '5b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e'
TWILIO_PARAMS = [
    ('AccountSid', ACCOUNT_SID),
    ('ApiVersion', '2010-04-01'),
    ('ApplicationSid', APP_SID),
    ('CallSid', CALL_SID),
    ('CallStatus', 'ringing'),
    ('Called', ''),
    ('Caller', DRIVER),
    ('Direction', 'inbound'),
    ('From', DRIVER),
    ('To', ''),
    # The app's custom parameters.
    ('from', DRIVER),
    ('to', '+1 (415) 555-2671'),
]


def event(raw_query, content_type, body, base64_encoded, signature):
    headers = {
        'content-length': str(len(body.encode('utf-8'))),
        'content-type': content_type,
        'host': HOST,
        'i-twilio-idempotency-token': '0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
        'user-agent': 'TwilioProxy/1.1',
        'x-amzn-trace-id': 'Root=1-65a1b2c3-0123456789abcdef01234567',
        'x-forwarded-for': '54.172.60.1',
        'x-forwarded-port': '443',
        'x-forwarded-proto': 'https',
        'x-home-region': 'us1',
        'x-twilio-signature': signature,
    }
    return {
        'version': '2.0',
        'routeKey': 'POST ' + PATH,
        'rawPath': PATH,
        'rawQueryString': raw_query,
        'headers': headers,
        **({'queryStringParameters': dict(p.split('=', 1) for p in raw_query.split('&'))} if raw_query else {}),
        'requestContext': {
            'accountId': '123456789012',
            'apiId': 'abc123defg',
            'domainName': HOST,
            'domainPrefix': 'abc123defg',
            'http': {
                'method': 'POST',
                'path': PATH,
                'protocol': 'HTTP/1.1',
                'sourceIp': '54.172.60.1',
                'userAgent': 'TwilioProxy/1.1',
            },
            'requestId': 'RmT3XhJ8IAMEVgQ=',
            'routeKey': 'POST ' + PATH,
            'stage': '$default',
            'time': '12/Jan/2025:19:04:11 +0000',
            'timeEpoch': 1736708651123,
        },
        'body': base64.b64encode(body.encode('utf-8')).decode('ascii') if base64_encoded else body,
        'isBase64Encoded': base64_encoded,
    }


def build_events():
    validator = RequestValidator(AUTH_TOKEN)
    url = 'https://' + HOST + PATH
    form_body = urlencode(TWILIO_PARAMS)
    form_signature = validator.compute_signature(url, dict(TWILIO_PARAMS))
    assert validator.validate(url, dict(TWILIO_PARAMS), form_signature)
    form = event('', 'application/x-www-form-urlencoded', form_body, True, form_signature)

    json_body = json.dumps(dict(TWILIO_PARAMS), separators=(',', ':'))
    json_query = 'bodySHA256=' + validator.compute_hash(json_body)
    json_signature = validator.compute_signature(url + '?' + json_query, {})
    assert validator.validate(url + '?' + json_query, json_body, json_signature)
    json_event = event(json_query, 'application/json', json_body, False, json_signature)
    return form, json_event


def dump(path, data):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=2, ensure_ascii=True, sort_keys=False)
        f.write('\n')


def main():
    cases = build_cases()
    cases_on = build_cases_on()
    form, json_event = build_events()
    fixture = {
        'generator': 'test/conformance/generate_call_fixtures.py',
        'twilioPython': twilio.__version__,
        'config': CONFIG,
        'defaults': {
            'note': 'Settings left at the code\'s defaults (not in `config`, so not set when the test runs the '
            'handler), with the values the rules here assume.',
            **DEFAULTS,
        },
        'callers': {
            'note': 'Twilio\'s From for a call from one of our app users: `prefix` + the user id (1 to 64 of '
            '[A-Za-z0-9_]). Every case whose From is anything else declares caller-not-ours.',
            'prefix': OUR_IDENTITY_PREFIX,
        },
        'messages': MESSAGES,
        'rules': RULES,
        'cases': cases,
        'settingsOn': {
            'note': 'The corpus inputs the original dialed, in a second configuration: `config` with the '
            'settings that add <Dial> attributes on, PUBLIC_BASE_URL and SUPPORT_NUMBER. `python` is the '
            'original\'s logic with the Python helper given the same attributes; every <Dial> here obeys '
            'dial-attributes-when-enabled.',
            'config': CONFIG_ON,
            'dialAttributes': {
                'action': DIAL_STATUS_URL + '?leg={leg}',
                'method': 'POST',
                'timeout': SETTINGS_ON['DIAL_TIMEOUT'],
                'answerOnBridge': 'true',
            },
            'nounAttributes': {
                'statusCallback': CALL_STATUS_URL,
                'statusCallbackEvent': STATUS_CALLBACK_EVENT,
                'statusCallbackMethod': 'POST',
            },
            'attributeOrder': OUR_ATTRIBUTE_ORDER,
            'cases': cases_on,
        },
        'signedEvents': {
            'authToken': AUTH_TOKEN,
            'url': 'https://' + HOST + PATH,
            'callSid': CALL_SID,
            'files': ['test/fixtures/events/make_call_form.json', 'test/fixtures/events/make_call_json.json'],
        },
    }
    dump(os.path.join(FIXTURES, 'conformance', 'make_call.json'), fixture)
    dump(os.path.join(FIXTURES, 'events', 'make_call_form.json'), form)
    dump(os.path.join(FIXTURES, 'events', 'make_call_json.json'), json_event)
    for name, group in (('cases', cases), ('settingsOn', cases_on)):
        print('%s: %d cases, %d with declared differences' % (
            name, len(group), sum(1 for c in group if 'differences' in c)))


if __name__ == '__main__':
    main()
