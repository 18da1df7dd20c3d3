"""Per-cloud facts, as data: one module per cloud, nothing but constants.

Everything that differs between clouds and is a fact rather than code lives in
`recipes/facts/<provider>.py`: default region and regions, node-type patterns and
examples, profile defaults, tag rules, Pulumi plugins, credential hints, ZenML
flavors, resource type tokens, prices' reference region... Every cloud module
defines the same names (tests/recipes/test_facts.py), so adding a cloud is adding
one module here, not editing ten dicts. Importing these modules imports no
Pulumi or cloud SDK: the CLI reads them before it has loaded anything heavy.
"""

from __future__ import annotations

import importlib
from types import ModuleType

PROVIDERS: tuple[str, ...] = ("aws", "gcp", "azure")


def of(provider: str) -> ModuleType:
    """The facts module of one cloud (`of("aws").DEFAULT_REGION`)."""
    if provider not in PROVIDERS:
        raise KeyError(provider)
    return importlib.import_module(f"{__name__}.{provider}")
