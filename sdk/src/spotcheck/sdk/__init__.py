"""spotcheck.sdk: what a marketplace platform embeds to exchange signed messages with a Spotcheck gateway.

The public names live here; the modules behind them are private. Errors form one tree under
:class:`SpotcheckError` (see ``spotcheck.sdk._errors``); signing follows Standard Webhooks (:class:`Webhook`).
"""

from spotcheck.sdk._errors import (
    APIError,
    AuthenticationError,
    ChunkError,
    ConnectionFailed,
    DecodeError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    SpotcheckError,
    VerificationError,
)
from spotcheck.sdk._signing import Webhook, generate_keypair, generate_secret, new_message_id, public_key_of

__all__ = [
    "APIError",
    "AuthenticationError",
    "ChunkError",
    "ConnectionFailed",
    "DecodeError",
    "InvalidRequestError",
    "RateLimitError",
    "ServerError",
    "SpotcheckError",
    "VerificationError",
    "Webhook",
    "generate_keypair",
    "generate_secret",
    "new_message_id",
    "public_key_of",
]
