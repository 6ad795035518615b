"""Reading a ``Retry-After`` header: the one parser shared by the reply client and the gateway's adapters.

It lives apart from the retry policy so that importing it pulls in nothing but the standard library.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC
from typing import Final

__all__ = ["parse_retry_after"]

# At most ten integer digits (three centuries of seconds) and six decimals; ASCII only, no sign, no exponent.
_DELAY_SECONDS: Final = re.compile(r"[0-9]{1,10}(?:\.[0-9]{1,6})?")


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Return the wait a ``Retry-After`` header asks for, in seconds, or ``None`` when absent or unreadable.

    The rules (RFC 9110 §10.2.3; surrounding white space is ignored):

    * **delay-seconds**, ASCII digits (``120``): that many seconds. A decimal fraction (``1.5``) is outside the
      RFC's grammar but means one thing only, so it is read as those seconds (up to six decimals). A sign, an
      exponent, non-ASCII digits or more than ten integer digits make the value unreadable.
    * **HTTP-date** in any of the three forms a recipient must accept (RFC 9110 §5.6.7): IMF-fixdate
      (``Wed, 21 Oct 2026 07:28:00 GMT``), the obsolete RFC 850 form and asctime. A date without a zone (asctime
      has none, and ``-0000`` says "unknown") is GMT, as every HTTP-date is; an explicit offset is honoured. The
      wait is measured from ``now`` (Unix seconds); a date in the past means "now" (``0.0``).
    * anything else, the empty string included: ``None``, and the caller falls back to its own schedule.
    """
    if value is None:
        return None
    text = value.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
