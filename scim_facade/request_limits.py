"""What one SCIM request may ask of the service, and the checks that hold every request to it.

Every computation on a request costs in proportion to its size (or ``n log n``); where the cost
grows with what the request names, it is bounded here, and a request over a bound is refused
with a 400 (or 413) SCIM error before any work is done. :func:`parse_json` reads every body:
beyond RFC 8259 it refuses what the store could not keep (strings with lone UTF-16 surrogates,
numbers outside 64 bits or not finite) and nesting deeper than :data:`MAX_JSON_DEPTH`, so no
later step has to.

ServiceProviderConfig declares these (RFC 7643 §5) in its :data:`LIMITS_URN` extension.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from identity_store.domain.patch import MAX_ELEMENT_VISITS
from identity_store.domain.values import INT64_MAX, INT64_MIN, MAX_VALUES, has_lone_surrogate
from scim_facade.errors import ScimError

__all__ = [
    "LIMITS",
    "LIMITS_URN",
    "MAX_ATTRIBUTE_NAMES",
    "MAX_FILTER_LENGTH",
    "MAX_FILTER_TERMS",
    "MAX_ID_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_PATCH_MEMBERS",
    "MAX_PATCH_OPERATIONS",
    "MAX_TOKEN_LENGTH",
    "check_text",
    "enforced_limits",
    "parse_json",
    "valid_id",
]

#: The ServiceProviderConfig extension that declares the limits below.
LIMITS_URN = "urn:identity-store:scim:ServiceProviderConfig:limits"

#: Arrays and objects nested in a body, counting the body itself (Bulk ``data`` included).
MAX_JSON_DEPTH = 32
#: Characters of a filter (query, .search body, PATCH path); longer ones are refused unparsed.
MAX_FILTER_LENGTH = 4096
#: Comparisons and ``pr`` terms in one filter.
MAX_FILTER_TERMS = 100
#: Operations in one PATCH request.
MAX_PATCH_OPERATIONS = 1000
#: Members one PATCH request adds or removes, summed over its operations.
MAX_PATCH_MEMBERS = 10_000
#: Names in ``attributes`` or ``excludedAttributes``.
MAX_ATTRIBUTE_NAMES = 100
#: Characters of a resource id in a path; a longer one names nothing.
MAX_ID_LENGTH = 256
#: Characters of a bearer token; a longer one is refused (401) before it is looked at.
MAX_TOKEN_LENGTH = 16_384


#: The limits as ServiceProviderConfig publishes them, under camelCase names like RFC 7643 §5's.
LIMITS: Mapping[str, int] = MappingProxyType(
    {
        "maxValuesPerAttribute": MAX_VALUES,
        "maxJsonDepth": MAX_JSON_DEPTH,
        "maxFilterLength": MAX_FILTER_LENGTH,
        "maxFilterTerms": MAX_FILTER_TERMS,
        "maxPatchOperations": MAX_PATCH_OPERATIONS,
        "maxMembersPerPatch": MAX_PATCH_MEMBERS,
        "maxElementVisitsPerPatch": MAX_ELEMENT_VISITS,
        "maxAttributeNames": MAX_ATTRIBUTE_NAMES,
        "maxIdLength": MAX_ID_LENGTH,
        "maxTokenLength": MAX_TOKEN_LENGTH,
    }
)


def enforced_limits(
    *, max_payload_size: int, rate_limit_per_second: float, rate_limit_burst: int
) -> dict[str, int | float]:
    """:data:`LIMITS` with the ones set per deployment: the largest body of any request (RFC 7643
    §5's ``bulk.maxPayloadSize`` names only Bulk's), and each tenant's request rate, on average
    and at once (refused with 429 above it; absent when rate limiting is off)."""
    limits: dict[str, int | float] = {**LIMITS, "maxPayloadSize": max_payload_size}
    if rate_limit_per_second > 0:
        limits["maxRequestsPerSecondPerTenant"] = rate_limit_per_second
        limits["maxRequestBurstPerTenant"] = max(rate_limit_burst, 1)
    return limits


class _OutOfRange(Exception):
    """A number in a body that no attribute could hold (raised from the decoder's hooks)."""


def _integer(text: str) -> int:
    # Checked on the text first: int() of a long digit string is itself costly (and limited).
    if len(text.lstrip("-")) > 19:
        raise _OutOfRange(text)
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise _OutOfRange(text)
    return value


def _decimal(text: str) -> float:
    """A JSON number with a fraction or exponent; finite, or :class:`_OutOfRange`."""
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _OutOfRange(text)
    return value


def _constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body; 400 ``invalidSyntax`` for bad or too deeply nested JSON,
    400 ``invalidValue`` for lone surrogates and numbers beyond 64 bits or infinite."""
    try:
        parsed = json.loads(raw, parse_int=_integer, parse_float=_decimal, parse_constant=_constant)
    except _OutOfRange:
        raise ScimError(
            400, "a number in the body is out of range (64-bit integers, finite decimals)", scim_type="invalidValue"
        ) from None
    except (ValueError, RecursionError):
        raise ScimError(400, "the body is not valid JSON", scim_type="invalidSyntax") from None
    _check_tree(parsed)
    return parsed


def _check_tree(value: Any) -> None:
    """Depth and strings of a decoded body, walked without recursion (a deep body cannot make
    this walk fail where the decoder did not)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                raise _surrogate()
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ScimError(
                    400, f"the body is nested deeper than {MAX_JSON_DEPTH} levels", scim_type="invalidSyntax"
                )
            if isinstance(item, dict):
                for key, child in item.items():
                    if has_lone_surrogate(key):
                        raise _surrogate()
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _surrogate() -> ScimError:
    return ScimError(
        400, "a string in the body holds a lone UTF-16 surrogate, which is not text", scim_type="invalidValue"
    )


# C0 and C1 controls, line and paragraph separators, lone surrogates: never part of a name or id.
_CONTROL = re.compile("[\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff]")


def check_text(name: str, value: str, *, scim_type: str = "invalidValue") -> str:
    """A query parameter as text: no lone surrogates or control characters; 400 otherwise."""
    if _CONTROL.search(value) is not None:
        raise ScimError(400, f"{name} holds characters that are not text", scim_type=scim_type)
    return value


def valid_id(value: str) -> bool:
    """Whether ``value`` could be a resource id: short, no control characters, no surrogates, no
    slash (an empty segment or a trailing slash names nothing)."""
    return 0 < len(value) <= MAX_ID_LENGTH and "/" not in value and _CONTROL.search(value) is None
