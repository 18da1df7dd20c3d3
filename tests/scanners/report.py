"""What the third-party scanners say about each stack: `python -m tests.scanners.report [--json]`.

Per stack (each cloud's dev and prod, the `kubernetes` provider's variants): Checkov's
passed/failed/skipped checks per framework (kubernetes over the manifests, terraform over AWS/GCP,
arm over Azure; a stack with no cloud resources has no cloud part), with the failed check ids and their
resources; kubernetes-validate --strict errors; parliament findings on the AWS IAM documents; and
what the renderers could not express. The tests in this folder assert on the same runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path


def summary(scans, stack: str) -> dict:
    rendered = scans.rendered(stack)
    report = scans.checkov(stack)
    frameworks = {}
    for framework in sorted({c.framework for c in report.checks} | set(report.summaries)):
        checks = report.of(framework)
        failed: dict[str, list[str]] = defaultdict(list)
        for check in checks:
            if check.result == "failed":
                failed[check.check_id].append(_resource_label(check))
        frameworks[framework] = {
            "passed": sum(c.result == "passed" for c in checks),
            "failed": sum(c.result == "failed" for c in checks),
            "skipped": sum(c.result == "skipped" for c in checks),
            "parsing_errors": len(report.parsing_errors.get(framework, [])),
            "failed_checks": {k: sorted(v) for k, v in sorted(failed.items())},
        }
    addresses = rendered.terraform.addresses if rendered.terraform else rendered.arm.addresses if rendered.arm else {}
    named = {c.resource for c in report.checks}
    unchecked = sorted({source[0].rsplit(":", 1)[-1] for address, source in addresses.items() if address not in named})
    validations = scans.validations(stack)
    findings = scans.findings(stack)
    return {
        "stack": stack,
        "kubernetes_objects": len(rendered.manifests.objects),
        "not_rendered": sorted(f"{t} {n}" for t, n, _ in rendered.manifests.not_rendered),
        "unmapped_cloud_resources": sorted(f"{t} {n}" for t, n in rendered.unmapped()),
        "cloud_framework": rendered.cloud_framework,
        "cloud_resources": len(addresses),
        "cloud_resources_unnamed": len([a for a in addresses if a not in named]),
        "types_unnamed": unchecked,
        "checkov": frameworks,
        "kubernetes_validate": {
            "versions": sorted({v.version for v in validations if v.version}),
            "passed": sum(v.status == "passed" for v in validations),
            "errors": sorted(f"{v.file} {v.object} {v.version}: {v.message}" for v in validations if v.status == "error"),
            "no_schema": sorted({v.object for v in validations if v.status == "no-schema"}),
        },
        "parliament": {
            "documents": len(rendered.policies),
            "findings": sorted(f"{f.issue} ({f.severity}) {f.document}: {f.detail[:160]}" for f in findings),
        },
    }


def _resource_label(check) -> str:
    if check.source is not None:
        return f"{check.source[0].rsplit(':', 1)[-1]} {check.source[1]}"
    return check.resource if len(check.resource) < 80 else check.resource[:77] + "..."


def print_text(summaries: list[dict], seconds: float) -> None:
    for s in summaries:
        print(f"== {s['stack']}: {s['kubernetes_objects']} Kubernetes objects, "
              f"{len(s['not_rendered'])} Helm releases not scanned")
        if s["unmapped_cloud_resources"]:
            print(f"   not rendered (no Terraform/ARM type): {', '.join(s['unmapped_cloud_resources'])}")
        if s["cloud_framework"] is None:
            print("   no cloud resources: no cloud part to scan")
        else:
            print(f"   cloud resources: {s['cloud_resources']}, {s['cloud_resources_unnamed']} named in no Checkov result "
                  f"(graph checks report on the resource they start from): {', '.join(s['types_unnamed']) or '-'}")
        for framework, f in s["checkov"].items():
            print(f"   checkov {framework}: {f['passed']} passed, {f['failed']} failed, {f['skipped']} skipped, "
                  f"{f['parsing_errors']} parsing errors")
            for check_id, resources in f["failed_checks"].items():
                print(f"      FAILED {check_id}: {'; '.join(resources)}")
        k = s["kubernetes_validate"]
        print(f"   kubernetes-validate --strict {', '.join(k['versions'])}: {k['passed']} passed, {len(k['errors'])} errors, "
              f"no schema (CRDs): {', '.join(k['no_schema']) or '-'}")
        for error in k["errors"]:
            print(f"      ERROR {error}")
        p = s["parliament"]
        if p["documents"]:
            print(f"   parliament: {p['documents']} documents, {len(p['findings'])} findings")
            for finding in p["findings"]:
                print(f"      {finding}")
    print(f"({seconds:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    from . import stacks
    from .scanners import scanner_venv

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stacks", nargs="*", default=list(stacks.STACKS), help=f"any of {', '.join(stacks.STACKS)}")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of text")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="recipe-scanners-") as folder:
        scans = stacks.Scans(Path(folder), scanner_venv(), tuple(args.stacks))
        summaries = [summary(scans, stack) for stack in args.stacks]
    if args.json:
        json.dump(summaries, sys.stdout, indent=1)
        print()
    else:
        print_text(summaries, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
