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

PROVIDERS: tuple[str, ...] = ("aws", "gcp", "azure", "kubernetes")
# The providers that create a cluster, nodes, a bucket and a registry in a cloud account; `kubernetes`
# deploys to a cluster that already exists (recipes/existing/) and creates no cloud resource.
CLOUDS: tuple[str, ...] = ("aws", "gcp", "azure")


def of(provider: str) -> ModuleType:
    """The facts module of one provider (`of("aws").DEFAULT_REGION`)."""
    if provider not in PROVIDERS:
        raise KeyError(provider)
    return importlib.import_module(f"{__name__}.{provider}")


def missing_sdk(provider: str) -> str | None:
    """Why `provider`'s program cannot run in this Python (its Pulumi SDK is not installed: the user
    installed another cloud's extra), with the fix; None when it can. Looks the module up without importing it."""
    import importlib.util
    import sys

    cloud = of(provider)
    if importlib.util.find_spec(cloud.SDK_MODULE) is not None:
        return None
    return (f"the {provider} stack needs Pulumi's {provider} SDK ({cloud.SDK_DISTRIBUTION}), which is not installed in "
            f"this Python ({sys.executable}); nothing was done. Install it with: "
            f"pip install 'stack-recipes[{provider}]' (from a checkout: pip install -e '.[{provider}]')")


def require_sdk(provider: str) -> None:
    """Stop (SdkMissing, exit 2) unless `provider`'s Pulumi SDK is installed."""
    from recipes.errors import SdkMissing

    problem = missing_sdk(provider) if provider in PROVIDERS else None
    if problem:
        raise SdkMissing(problem)
