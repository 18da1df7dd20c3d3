"""The stack these tests plan: the issue's first example, `recipe plan kubernetes --context k3d-ml --name ml-local`."""

from __future__ import annotations

from recipes.spec import Layer, StackSpec, load_spec


def spec(**values) -> StackSpec:
    """That stack with `values` given as flags on top (no --registry: no registry, as the provider defaults)."""
    return load_spec(Layer("flags", {"provider": "kubernetes", "name": "ml-local", "context": "k3d-ml", **values}))
