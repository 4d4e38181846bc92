"""Expected values typed by hand, for what the API document (``tests/fixtures/smsgic-api.txt``,
read by ``api_doc``) does not show.  Nothing here is imported from the package: a limit changed
by accident, or a typo shared by the sandbox and the client, fails a test.

* The sandbox's request limits, as ``smsgic_analytics/sandbox/README.md`` ("Limits") and the
  top README state them (``tests/unit/test_docs.py`` checks both still say so).
* The texts of the refusals the API document does not show.  The API is a Laravel application
  (its documented 401 and 422 bodies are Laravel's), so the sandbox words the rest as Laravel's
  English texts do: ``lang/en/validation.php`` for a rule (``:attribute`` is the field name with
  ``_`` as a space) and the framework's HTTP exceptions.  The insufficient-balance and
  too-deep texts are the sandbox's own (the API document shows neither case).
"""
from __future__ import annotations

# -- limits (sandbox README, "Limits") --------------------------------------------------------
MAX_BODY_BYTES = 4 * 1024 * 1024  # "body > 4 MiB (4,194,304 bytes)"
MAX_JSON_DEPTH = 32  # "JSON nested > 32 levels"
MAX_HEADER_BYTES = 16 * 1024  # "request headers > 16 KiB"
MAX_MESSAGE_CHARS = 39_015  # "255 parts x 153 GSM-7 characters" (3GPP TS 23.040 9.2.3.24.1)
REALISTIC_RECIPIENTS = 100_000  # "one calculate to 100,000 recipients of 20 digits ..."
REALISTIC_BODY_BYTES = 2_640_000  # "... is 2.64 MB: 1.6x headroom"

# -- Laravel's texts ---------------------------------------------------------------------------
INVALID_SENDER = "The selected sender is invalid."  # in
INVALID_TYPE = "The selected type is invalid."  # in
INVALID_SCHEDULED_AT = "The scheduled at does not match the format Y-m-d H:i:s."  # date_format
MCC_REQUIRED = "The mcc field is required when mnc is present."  # required_with
MCC_FORMAT = "The mcc format is invalid."  # regex
MNC_FORMAT = "The mnc format is invalid."  # regex
COUNTRY_ID_INTEGER = "The country id must be an integer."  # integer
COUNTRY_ID_INVALID = "The selected country id is invalid."  # exists
COUNTRY_STRING = "The country must be a string."  # string
MESSAGE_STRING = "The message must be a string."  # string
RECIPIENTS_ARRAY = "The recipients must be an array."  # array
TOO_MANY_ATTEMPTS = "Too Many Attempts."  # ThrottleRequestsException (429)
SERVER_ERROR = "Server Error"  # the 500 text with debug off
POST_TOO_LARGE = "The POST data is too large."  # PostTooLargeException (413)
HEADERS_TOO_LARGE = "Request Header Fields Too Large"  # 431's reason phrase (RFC 6585, 5)


def invalid_recipient(index: int) -> str:
    return f"The recipients.{index} format is invalid."  # regex, on recipients.*


def message_too_long(limit: int = MAX_MESSAGE_CHARS) -> str:
    return f"The message must not be greater than {limit} characters."  # max.string


def route_not_found(path: str) -> str:
    return f"The route {path} could not be found."  # NotFoundHttpException


def too_deep(attribute: str, depth: int = MAX_JSON_DEPTH) -> str:
    return f"The {attribute} must not be nested more than {depth} levels deep."  # the sandbox's own


def insufficient_balance(total: object, code: str, balance: object) -> str:
    return f"Insufficient balance: the sending costs {total} {code}, the balance is {balance} {code}."  # the sandbox's own
