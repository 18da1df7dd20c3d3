"""The Pulumi programs: everything that declares cloud resources.

`build(spec)` declares one whole stack. It is imported lazily so that importing
`recipes` (for the spec and outputs schema) does not load any cloud SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .spec import StackSpec


def build(spec: StackSpec) -> dict[str, Any]:
    """Declare every resource of the stack described by `spec`; return the exported outputs."""
    from .program import build as _build

    return _build(spec)
