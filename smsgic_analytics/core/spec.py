"""Facts of the SMSgic API as its documentation states them (the in-repo copy of that
documentation: ``tests/fixtures/smsgic-api.txt``, which the tests read their expected texts from).

One place for each fact: endpoint paths, status names, send types, validation patterns
and the exact error messages.  Both the client and the sandbox read them from here.  The tests
never do for the texts and limits they check: they read the documentation itself
(``tests/api_doc.py``) and Laravel's wording typed by hand (``tests/by_hand.py``), so a typo here
fails a test instead of making the client and the sandbox agree on a wrong text
(``tests/unit/test_architecture.py`` keeps it so).
"""
from __future__ import annotations

import re

BASE_URL = "https://api.smsgic.com"

# Endpoint paths.
STATUS = "/status"
BALANCE = "/balance"
SENDERS = "/senders"
RATES = "/rates"
CALCULATE = "/sendings/calculate"
SENDINGS = "/sendings"
SENDING = "/sendings/{id}"

# Documented limits and formats.
CALCULATE_PER_MINUTE = 3000
# PCRE's \d (no /u flag) is ASCII 0-9 only: re.ASCII keeps "٣" and other digits out.
RECIPIENT_MIN_DIGITS, RECIPIENT_MAX_DIGITS = 8, 20
RECIPIENT_RE = re.compile(rf"^\d{{{RECIPIENT_MIN_DIGITS},{RECIPIENT_MAX_DIGITS}}}$", re.ASCII)
MCC_RE = re.compile(r"^\d{3}$", re.ASCII)
MNC_RE = re.compile(r"^(\d{0,3}|null)$", re.ASCII)
SCHEDULED_AT_FORMAT = "%Y-%m-%d %H:%M:%S"  # PHP's Y-m-d H:i:s; naive, treated as UTC here
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.000000Z"  # created_at / updated_at
SEND_TYPES = ("default", "infobip", "twilio", "messente", "trumpia")

# Sending statuses: the documentation shows "Draft" and "Pending"; the lifecycle the
# sandbox plays (Pending until scheduled_at, then Processing, then Sent or Failed) adds the
# states a sending moves through after that.  Categories in DataFrames use this order.
DRAFT = "Draft"
PENDING = "Pending"
PROCESSING = "Processing"
SENT = "Sent"
FAILED = "Failed"
STATUSES = (DRAFT, PENDING, PROCESSING, SENT, FAILED)
FINAL_STATUSES = (SENT, FAILED)

# Exact texts from the documentation.
MSG_UNAUTHENTICATED = "Unauthenticated."
MSG_INVALID_DATA = "The given data was invalid."
MSG_MISSING_MESSAGE = "Please send `message` post parameter with text for SMS"
MSG_MISSING_RECIPIENTS = "Please send `recipients` post parameter with recipient`s number"
MSG_MISSING_SENDER = "Please send `sender` post parameter with name of SMS sender"
MSG_SENDING_CREATED = "SMS champing created"
MSG_TOO_MANY_ATTEMPTS = "Too Many Attempts."
MSG_NOT_FOUND = "No query results for model {id}"
STATUS_OK = ["OK"]

# Texts the documentation does not show, worded as the Laravel validator behind the API
# words them, so they read like the documented ones.
MSG_INVALID_RECIPIENT = "The recipients.{index} format is invalid."
MSG_INVALID_SENDER = "The selected sender is invalid."
MSG_INVALID_SCHEDULED_AT = "The scheduled at does not match the format Y-m-d H:i:s."
MSG_INVALID_TYPE = "The selected type is invalid."
MSG_INSUFFICIENT_BALANCE = "Insufficient balance: the sending costs {total} {code}, the balance is {balance} {code}."
MSG_MCC_REQUIRED = "The mcc field is required when mnc is present."
MSG_MCC_FORMAT = "The mcc format is invalid."
MSG_MNC_FORMAT = "The mnc format is invalid."
MSG_COUNTRY_ID_INTEGER = "The country id must be an integer."
MSG_COUNTRY_STRING = "The country must be a string."
MSG_SERVER_ERROR = "Server Error"
MSG_MESSAGE_STRING = "The message must be a string."
MSG_RECIPIENTS_ARRAY = "The recipients must be an array."
MSG_COUNTRY_ID_INVALID = "The selected country id is invalid."
MSG_ROUTE_NOT_FOUND = "The route {path} could not be found."
MSG_METHOD_NOT_ALLOWED = "The {method} method is not supported for route {path}. Supported methods: {allowed}."
# Request limits of the sandbox (smsgic_analytics/sandbox/limits.py), in Laravel's words:
# PostTooLargeException's 413 text, and the `max` rule's text for strings.
MSG_POST_TOO_LARGE = "The POST data is too large."
MSG_HEADERS_TOO_LARGE = "Request Header Fields Too Large"  # 431's reason phrase, as in a bare HttpException
MSG_JSON_TOO_DEEP = "The {attribute} must not be nested more than {depth} levels deep."
MSG_MESSAGE_TOO_LONG = "The message must not be greater than {max} characters."

# POST /sendings accepts "Title of default or your account sender approved": the documented
# example sends sender "INFO", which no account lists under /senders, and succeeds.  So
# "INFO" is the default sender every account may use besides its own approved ones.
DEFAULT_SENDERS = ("INFO",)

# A concatenated SMS has at most 255 parts: the UDH part counter is one octet (3GPP TS 23.040
# 9.2.3.24.1).  The client refuses a longer message; the sandbox refuses more characters than
# 255 parts of GSM-7 can hold.
MAX_MESSAGE_PARTS = 255

# The demo account: the docs' own examples (balance "450.000" GBP, senders MegaShop, DSTLCKDM,
# MEGA).  The sandbox opens it; `make lab`, the notebooks and the estimate CLI use it.
DEMO_TOKEN = "demo-token"
DEMO_BALANCE = "450.000"
# GET /balance shows 3 decimals ("450.000"), prices have 4: a debit read off two balances is
# known to within this step.  (The API's answers to POST /sendings and GET /sendings carry no
# cost: the balance is the only word the server gives on what a send was charged.)
BALANCE_STEP = "0.001"
DEMO_SENDERS = ((45, "MegaShop"), (46, "DSTLCKDM"), (136, "MEGA"))

# What PHP's trim() strips: Laravel's `required` rule calls a string of only these "missing".
_PHP_TRIM = " \t\n\r\0\x0b"


# A UTF-16 surrogate on its own: UTF-8 has no bytes for it, so no request body can carry it,
# and PHP's json_decode refuses a whole document whose \uXXXX escapes make one (JSON_ERROR_UTF16).
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


MSG_LONE_SURROGATE = "character {at} is a lone surrogate U+{code:04X}, not text that can be sent (UTF-8 has no bytes for it)"


def lone_surrogate_at(text: str) -> int | None:
    """The index of the first lone surrogate in ``text`` (see above), or None when there is none."""
    found = _LONE_SURROGATE.search(text)
    return None if found is None else found.start()


def unsendable(text: str) -> str | None:
    """Why ``text`` cannot go in a request (``MSG_LONE_SURROGATE``), or None when it can."""
    at = lone_surrogate_at(text)
    return None if at is None else MSG_LONE_SURROGATE.format(at=at, code=ord(text[at]))


def unsendable_rows(texts: list[str]) -> list[int]:
    """The positions of the texts that hold a lone surrogate: one UTF-8 encoding of them all
    joined (a C loop; it fails exactly on a lone surrogate), then row by row only when it fails."""
    try:
        "".join(texts).encode("utf-8")
        return []
    except UnicodeEncodeError:
        pass
    return [i for i, text in enumerate(texts) if lone_surrogate_at(text) is not None]


def is_blank(value: object) -> bool:
    """Laravel's `required`: missing (None), an empty list, or a string empty once trimmed.
    The one rule for "message not sent", in the client and the sandbox alike."""
    if value is None or value == []:
        return True
    return isinstance(value, str) and value.strip(_PHP_TRIM) == ""
