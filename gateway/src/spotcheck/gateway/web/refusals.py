"""Why each operation refuses a request: its statuses and their reasons in words, one entry per operation.

Read off each route's handler, its service and the guards it passes: the scopes and jurisdictions of
``access`` (403), the look-ups (404), the state machines and uniqueness rules (409) and the semantic refusals
(422). :mod:`spotcheck.gateway.web.responses` adds what an operation's shape implies (401 for a token, 400, 413
and 415 for a JSON body, 400 for a query) and writes the table into the OpenAPI document.

When a service learns a new refusal, its status and reason go here beside the operations that reach it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["OPERATION_ERRORS", "TOO_LARGE", "Errors", "merge", "scope"]

Errors = Mapping[int, tuple[str, ...]]
"""Status -> the reasons an operation answers it for."""


# ---- reasons, in words, shared by the operations that give them -----------------------------------------------

TOO_LARGE = "the body is larger than the gateway accepts (`http.max_request_bytes`, 1 MiB by default)"


def scope(name: str) -> str:
    """The reason of a 403 for a token without the scope ``name``."""
    return f"the token lacks the `{name}` scope"


WRITE, ADMIN = scope("write"), scope("admin")
NO_CASE = "no such case"
CASE_OUTSIDE = "the case is outside this authority's jurisdiction"
CASE_STATE = "the case's state does not allow this action; `allowed` lists the actions it allows now"
NO_PLATFORM = "the case has no platform to address"
NOT_FAILING = "the case's result is not a failing one"
DOCUMENT_FIELD = (
    "a document (文书) the notice carries needs a field the case does not record yet; `errors` names it and "
    "nothing is sent"
)
EVIDENCE_MISSING = "a digest names no evidence file uploaded to this case; `errors` names the field"
NO_PLAN = "no such plan"
PLAN_OUTSIDE = "the plan belongs to an authority outside this authority's area"
PLAN_STATE = "the plan's state does not allow this"
NO_DRAW = "no such draw"
DRAW_OUTSIDE = "the draw belongs to an authority outside this authority's area"
MERCHANT_OUTSIDE = "the merchant is outside this authority's jurisdiction"
PUBLIC_QUERY = "a filter or paging parameter of the query is invalid; the answer names it"
ALTERED = "the stored file no longer hashes to its SHA-256, or is missing from its store (an operational event)"


def merge(*tables: Errors) -> dict[int, tuple[str, ...]]:
    """The statuses of every table, each with the reasons of all, in order and without repeats."""
    merged: dict[int, tuple[str, ...]] = {}
    for table in tables:
        for status, reasons in table.items():
            merged[status] = tuple(dict.fromkeys((*merged.get(status, ()), *reasons)))
    return merged


_CASE_READ: Final[Errors] = {403: (CASE_OUTSIDE,), 404: (NO_CASE,)}
_CASE_COMMAND: Final[Errors] = {403: (WRITE, CASE_OUTSIDE), 404: (NO_CASE,), 409: (CASE_STATE,)}
_SENDS_DOCUMENT: Final[Errors] = {422: (DOCUMENT_FIELD,)}
_TO_PLATFORM: Final[Errors] = {409: (NO_PLATFORM,)}
_PLAN_READ: Final[Errors] = {403: (PLAN_OUTSIDE,), 404: (NO_PLAN,)}
_PLAN_COMMAND: Final[Errors] = {403: (WRITE, PLAN_OUTSIDE), 404: (NO_PLAN,), 409: (PLAN_STATE,)}
_DRAW_READ: Final[Errors] = {403: (DRAW_OUTSIDE,), 404: (NO_DRAW,)}
_SIGNED_BY_PLATFORM: Final[Errors] = {
    401: ("the webhook-* signature headers are missing or do not verify with a valid key of the platform",),
    404: ("no platform is registered under this id",),
}


def _case(path: str) -> str:
    return f"/v1/cases/{{case_id}}{path}"


OPERATION_ERRORS: Final[dict[tuple[str, str], dict[int, tuple[str, ...]]]] = {
    # ---- registry ------------------------------------------------------------------------------------------------
    ("get", "/v1/authorities"): {},
    ("post", "/v1/authorities"): {
        403: (ADMIN, "`division_code` is outside this authority's area"),
        404: ("`parent_id` names no authority",),
        409: ("an authority is already registered for `division_code`",),
        422: ("`level` is not the level `division_code` denotes",),
    },
    ("put", "/v1/authorities/{authority_id}/channel"): {
        400: ("`order_acknowledge_hours` exceeds `order_effect_hours`", "the SSRF guard refuses `webhook_url`"),
        403: (ADMIN, "the authority is outside this authority's area"),
        404: ("no such authority",),
    },
    ("post", "/v1/entrustments"): {
        403: (ADMIN, "`division_code` is not an area this authority covers"),
        404: ("`agent_authority_id` names no authority",),
    },
    ("get", "/v1/platforms"): {},
    ("post", "/v1/platforms"): {
        400: (
            "`adapter` is unknown or refuses `adapter_config`",
            "`endpoint_url` is private or does not resolve",
            "an inbound key is not a usable whpk_/whsec_ key",
        ),
        403: (ADMIN,),
        409: ("a platform with this `id` is already registered",),
    },
    ("post", "/v1/platforms/{platform_id}/keys"): {
        400: ("`key` is missing for an inbound rotation, or not a usable whpk_/whsec_ key",),
        403: (ADMIN,),
        404: ("no such platform",),
    },
    ("post", "/v1/merchants"): {
        400: ("`registration_division` is missing for a registered entity", "`website` is missing off a platform"),
        403: (WRITE,),
        404: ("`platform_id` names no platform",),
        409: ("this shop is already registered on the platform",),
    },
    ("get", "/v1/merchants/{merchant_id}"): {403: (MERCHANT_OUTSIDE,), 404: ("no such merchant",)},
    ("post", "/v1/merchants/{merchant_id}/unreachable"): {
        403: (WRITE, MERCHANT_OUTSIDE),
        404: ("no such merchant",),
    },
    ("post", "/v1/manufacturers"): {403: (WRITE,)},
    # ---- cases ---------------------------------------------------------------------------------------------------
    ("post", "/v1/cases"): {
        400: ("neither `plan_id` nor `plan_reference` is given",),
        403: (WRITE, "sampling this merchant falls to another authority's jurisdiction", PLAN_OUTSIDE, DRAW_OUTSIDE),
        404: ("`merchant_id`, `manufacturer_id`, `plan_id` or `origin.draw_id` names nothing",),
        409: ("a natural-person merchant sells through no registered platform", PLAN_STATE),
        422: (
            "a single consumer complaint is not sampling (四(三))",
            "`origin` names an unknown reason, or a draw not revealed, not selecting the merchant or of another plan",
        ),
    },
    ("get", "/v1/cases"): {400: ("`limit` is outside 1-200, or `in_state` is not a case state",)},
    ("get", "/v1/cases/{case_id}"): merge(_CASE_READ),
    ("get", _case("/events")): merge(_CASE_READ),
    ("get", _case("/messages")): merge(_CASE_READ),
    ("post", _case("/purchase")): merge(
        _CASE_COMMAND,
        {
            422: (
                EVIDENCE_MISSING,
                "a screen capture is not an image",
                "a buyer, account or address is not the plan's",
                "`purchased_at` or an order's `ordered_at` is in the future",
            )
        },
    ),
    ("post", _case("/sealing")): merge(
        _CASE_COMMAND,
        {400: ("`backup_seal_no` equals `sample_seal_no`",), 422: (EVIDENCE_MISSING, "`sealed_at` is in the future")},
    ),
    ("post", _case("/backup-sample/shipped")): merge(
        _CASE_COMMAND,
        {
            409: ("the backup sample cannot be returned yet, or its return is already recorded",),
            422: ("`shipped_at` is in the future", EVIDENCE_MISSING),
        },
    ),
    ("post", _case("/backup-sample/outcome")): merge(
        _CASE_COMMAND,
        {
            409: ("the backup sample's shipping is not recorded, or its outcome already is",),
            422: ("`at` is not after the shipping and before now", EVIDENCE_MISSING),
        },
    ),
    ("get", _case("/backup-sample")): merge(_CASE_READ, {404: ("no backup sample return is recorded",)}),
    ("post", _case("/sampling-notice")): merge(_CASE_COMMAND, _SENDS_DOCUMENT),
    ("post", _case("/records-request")): merge(
        _CASE_COMMAND,
        _TO_PLATFORM,
        _SENDS_DOCUMENT,
        {400: ("`records_from` is not before `records_until`",)},
    ),
    ("post", _case("/identity-request")): merge(_CASE_COMMAND, _TO_PLATFORM, _SENDS_DOCUMENT),
    ("post", _case("/result")): merge(
        _CASE_COMMAND,
        {
            400: ("`failing_items` is missing for a failing result, or given for a pass",),
            422: ("`received_at` is in the future",),
        },
    ),
    ("post", _case("/result-notices")): merge(
        _CASE_COMMAND, {409: ("the case names a manufacturer not registered",)}, _SENDS_DOCUMENT
    ),
    ("post", _case("/reinspection-applications")): merge(
        _CASE_COMMAND, {409: (NOT_FAILING, "the applicant's window is closed or was never opened")}
    ),
    ("post", _case("/reinspection-applications/{application_id}/decision")): merge(
        _CASE_COMMAND,
        {404: ("no such application on this case",), 409: ("the application is already decided",)},
        _SENDS_DOCUMENT,
    ),
    ("post", _case("/reinspection-outcome")): merge(_CASE_COMMAND),
    ("post", _case("/reinspection-waivers")): merge(
        _CASE_COMMAND,
        {
            409: (NOT_FAILING, "the party has no open window"),
            422: ("`statement_sha256` names no evidence of this case, or `relayed_reply_id` no reply of the case",),
        },
    ),
    ("post", _case("/finalize")): merge(
        _CASE_COMMAND, {409: ("a re-inspection application awaits a decision", "a party's window is still open")}
    ),
    ("post", _case("/publish")): merge(_CASE_COMMAND),
    ("post", _case("/stop-sale")): merge(
        _CASE_COMMAND, {409: (NOT_FAILING, "the result is not final yet")}, _SENDS_DOCUMENT
    ),
    ("post", _case("/hazard-notification")): merge(
        _CASE_COMMAND, {409: ("the case has no open hazard-notification task",)}, _SENDS_DOCUMENT
    ),
    ("post", _case("/delisting")): merge(
        _CASE_COMMAND, {409: ("the result is not a hazardous failure of a mandatory standard",)}, _SENDS_DOCUMENT
    ),
    ("post", _case("/takedown")): merge(
        _CASE_COMMAND,
        _TO_PLATFORM,
        {409: (NOT_FAILING, "the merchant is not recorded as unreachable")},
        _SENDS_DOCUMENT,
    ),
    ("post", _case("/referral")): merge(
        _CASE_COMMAND, {409: ("the merchant sells through a platform (send a takedown)", NOT_FAILING)}, _SENDS_DOCUMENT
    ),
    ("post", _case("/transfer")): merge(
        _CASE_COMMAND,
        _TO_PLATFORM,
        {409: ("no authority is registered for the platform's province, or it is this one",)},
        _SENDS_DOCUMENT,
    ),
    ("post", _case("/close")): merge(_CASE_COMMAND),
    # ---- evidence and documents ----------------------------------------------------------------------------------
    ("post", _case("/evidence")): merge(
        _CASE_READ,
        {
            400: (
                "`step` or `description` is invalid",
                "the body is empty, or the client disconnected before it ended",
            ),
            403: (WRITE,),
            413: ("the file is larger than `store.max_evidence_bytes` (by Content-Length, or while streaming)",),
            415: (
                "the declared content-type is not application/octet-stream or an accepted type",
                "the bytes are none of the accepted media types",
            ),
        },
    ),
    ("get", _case("/evidence")): merge(_CASE_READ),
    ("get", "/v1/evidence/{sha256}"): {
        400: ("`sha256` is not 64 lowercase hex digits",),
        403: ("only cases outside this authority's jurisdiction hold the file",),
        404: ("no case holds a file with this digest",),
        409: (ALTERED,),
    },
    ("get", _case("/documents")): merge(_CASE_READ),
    ("get", "/v1/documents/{document_id}"): {
        403: ("the document's case is outside this authority's jurisdiction",),
        404: ("no such document",),
        409: (ALTERED,),
    },
    ("get", "/v1/platforms/{platform_id}/documents/{document_id}"): merge(
        _SIGNED_BY_PLATFORM,
        {404: ("no such document was served on this platform",), 409: (ALTERED,)},
    ),
    # ---- intake --------------------------------------------------------------------------------------------------
    ("post", "/v1/intake/{platform_id}"): merge(
        _SIGNED_BY_PLATFORM,
        {
            400: (
                "the body is not a valid reply message; `errors` names the field",
                "the reply's `type` is not one a platform sends",
                "`data.chunk_index` is not below `data.chunk_count`",
            ),
            401: ("the platform has no valid inbound key",),
            403: (
                "`data.platform_id` is not the signing platform",
                "`data.in_reply_to` is not a notice sent to this platform on `data.case_id`",
            ),
            409: (
                "the webhook-id was already used with a different body",
                "a records chunk or upload conflicts with one already accepted",
            ),
            413: (TOO_LARGE,),
            415: ("the content-type is not application/json",),
            422: ("the reply does not fit the notice it answers (its kind, times, orders, shops or listings)",),
        },
    ),
    # ---- operations and deliveries -------------------------------------------------------------------------------
    ("get", "/v1/deadlines"): {},
    ("post", "/v1/deadlines/sweep"): {403: (ADMIN,)},
    ("get", "/v1/findings"): {},
    ("get", "/v1/platforms/{platform_id}/compliance"): {404: ("no such platform",)},
    ("get", "/v1/events"): {400: ("`limit` is outside 1-500",)},
    ("get", "/v1/deliveries"): {
        400: ("`since` or `until` has no UTC offset or lies outside 1970-2999", "`limit` is outside 1-1000"),
        403: (ADMIN,),
    },
    ("get", "/v1/deliveries/{message_id}"): {
        403: (ADMIN, "the message's case is outside this authority's jurisdiction"),
        404: ("no such message",),
    },
    ("post", "/v1/deliveries/{message_id}/redeliver"): {
        403: (ADMIN, "the message's case is outside this authority's jurisdiction"),
        404: ("no such message",),
    },
    ("post", "/v1/deliveries/replay"): {400: ("neither a platform nor a time range is given",), 403: (ADMIN,)},
    ("post", "/v1/audit/checkpoints"): {
        403: (ADMIN,),
        409: ("another process is integrating the log", "the stored tree no longer has the last signed root"),
    },
    # ---- plans, draws and directories ----------------------------------------------------------------------------
    ("get", "/v1/plans"): {},
    ("post", "/v1/plans"): {403: (WRITE,), 422: ("the plan names no buyer or no delivery address",)},
    ("get", "/v1/plans/{plan_id}"): merge(_PLAN_READ),
    ("post", "/v1/plans/{plan_id}/approve"): merge(
        _PLAN_COMMAND, {403: (scope("supervise"), "the token that wrote the plan cannot approve it")}
    ),
    ("post", "/v1/plans/{plan_id}/start"): merge(_PLAN_COMMAND),
    ("post", "/v1/plans/{plan_id}/complete"): merge(_PLAN_COMMAND),
    ("get", "/v1/plans/{plan_id}/expenses"): merge(_PLAN_READ),
    ("get", "/v1/plans/{plan_id}/expenses.csv"): merge(_PLAN_READ),
    ("get", "/v1/plans/{plan_id}/expenses.xlsx"): merge(_PLAN_READ),
    ("post", "/v1/plans/{plan_id}/draws"): merge(
        _PLAN_COMMAND,
        {
            403: ("`scope.division_prefix` is outside the plan's authority area",),
            409: ("this plan already has a draw with this scope",),
            422: ("the scope names nothing, or matches no merchant in the object directory",),
        },
    ),
    ("get", "/v1/plans/{plan_id}/draws"): merge(_PLAN_READ),
    ("get", "/v1/draws/{draw_id}"): merge(_DRAW_READ),
    ("post", "/v1/draws/{draw_id}/reveal"): merge(
        _DRAW_READ,
        {
            403: (WRITE, "the token that committed the draw cannot enter its beacon"),
            409: ("the draw is already revealed",),
            422: ("the beacon cannot be used",),
        },
    ),
    ("post", "/v1/directory/merchants/import"): {
        400: ("the CSV is not UTF-8",),
        403: (WRITE, "every refused row is outside this authority's area (`errors` lists row and column)"),
        413: (TOO_LARGE,),
        415: ("the content-type is not text/csv, text/plain or application/octet-stream",),
        422: ("a column is missing, a cell is invalid or the CSV has no rows; `errors` lists each row and column",),
    },
    ("get", "/v1/directory/merchants"): {},
    ("get", "/v1/directory/inspectors"): {},
    ("post", "/v1/directory/inspectors"): {403: (WRITE,)},
    # ---- sanctions -----------------------------------------------------------------------------------------------
    ("get", _case("/penalties")): merge(_CASE_READ),
    ("post", _case("/penalties")): merge(
        _CASE_READ,
        {
            403: (WRITE,),
            409: ("the case has no final failing result",),
            422: (
                "the party does not match the case, or its USCC is invalid",
                "`decided_on` is in the future, or `decision_no` is already recorded",
            ),
        },
    ),
    ("post", "/v1/warnings"): {
        403: (WRITE, "a named case is outside this authority's jurisdiction"),
        422: ("no case or listing is named, or one names nothing published",),
    },
    # ---- outside /v1 ---------------------------------------------------------------------------------------------
    ("get", "/public/documents/{document_id}"): {
        400: ("`document_id` holds a character the database cannot keep (U+0000, on PostgreSQL)",),
        409: (ALTERED,),
    },
    # The public lists read their filters and pages from the query themselves (public/pages.py).
    **{
        ("get", f"/public/{page}"): {400: (PUBLIC_QUERY,)}
        for page in (
            "results",
            "results.json",
            "results.atom",
            "results.csv",
            "announcements",
            "audit/checkpoints",
            "hazard-list",
            "hazard-list.json",
            "penalties",
            "penalties.json",
            "warnings",
            "warnings.json",
        )
    },
    ("get", "/ready"): {},  # its 503 (the database does not answer) is one of the server errors
}
"""Per operation: the statuses its handler and service can answer beyond those its shape implies, with why."""
