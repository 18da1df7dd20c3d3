"""Helm releases of pinned charts, with timeouts that fit the chart."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .versions import Chart


def release(
    name: str,
    chart: Chart,
    namespace: pulumi.Input[str],
    values: dict[str, Any],
    *,
    opts: pulumi.ResourceOptions,
    timeout_seconds: int = 600,
) -> k8s.helm.v3.Release:
    """Install `chart` at its pinned version and wait until its workloads are ready."""
    if chart.is_oci:
        chart_args: dict[str, Any] = {"chart": f"{chart.repo}/{chart.name}"}
    else:
        chart_args = {"chart": chart.name, "repository_opts": k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo)}
    return k8s.helm.v3.Release(
        name,
        name=name,
        version=chart.version,
        namespace=namespace,
        values=values,
        timeout=timeout_seconds,
        cleanup_on_fail=True,
        max_history=5,
        opts=opts,
        **chart_args,
    )
