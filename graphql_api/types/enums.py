"""Descriptions of enum values, given beside the enum rather than inside it.

``strawberry.enum_value`` would put them in the enum's members, which the domain's enums
(``EventType``, ``AggregateType``) must not carry: ``identity_store`` never imports strawberry. So
every enum of the schema is described the same way, here, after strawberry has registered it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from strawberry.types.enum import StrawberryEnumDefinition

__all__ = ["describe_values"]


def describe_values(enum: type[Enum], descriptions: Mapping[str, str]) -> None:
    """Describe each value of ``enum`` (already a strawberry enum), by member name; every member
    must be described and no other name given, so a new member cannot go undescribed."""
    definition: StrawberryEnumDefinition = enum.__strawberry_definition__  # type: ignore[attr-defined]
    names = {value.name for value in definition.values}
    if names != set(descriptions):
        raise ValueError(f"{definition.name}: describe exactly {sorted(names)}, not {sorted(descriptions)}")
    for value in definition.values:
        value.description = descriptions[value.name]
