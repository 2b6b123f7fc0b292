"""The bounds every stage of the custom-resource pipeline shares.

`MAX_DEPTH` caps how many schema levels the compiler, pruner, defaulter and validators follow; the int64 bounds
are where the apiserver's JSON decoder stops producing int64 (larger integers become float64); `Obj` is a JSON
object. Nothing here depends on any other module of the package.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 128
"""Schema levels (properties/items/additionalProperties/allOf… steps) the walkers follow. Real CRDs stay far
below; the bound keeps recursion well inside Python's limit whatever a tenant submits."""


_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


Obj = dict[str, Any]
