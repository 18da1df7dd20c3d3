"""recipes/facts: one pure-data module per cloud, each answering the same questions.

A name one cloud defines and another lacks (resource type tokens aside: each cloud's own
vocabulary) is a question some code asks of every cloud and gets an AttributeError for on one; an SDK import there would cost every `recipe`
command its start-up time.
"""

from __future__ import annotations

import re
import subprocess
import sys
from types import ModuleType

import pytest

from recipes import facts


# A Pulumi resource type token ("aws:eks/cluster:Cluster"): each cloud's own vocabulary, not a
# question every cloud answers, so the only facts that differ in name between clouds.
TYPE_TOKEN = re.compile(r"^[a-z][a-z-]*:[A-Za-z0-9/._-]+:[A-Za-z0-9]+$")


def public_names(module: ModuleType) -> set[str]:
    return {name for name, value in vars(module).items()
            if name.isupper() and not name.startswith("_") and not (isinstance(value, str) and TYPE_TOKEN.match(value))}


def test_every_cloud_defines_the_same_facts():
    names = {provider: public_names(facts.of(provider)) for provider in facts.PROVIDERS}
    every = set.union(*names.values())
    missing = {provider: sorted(every - defined) for provider, defined in names.items() if every - defined}
    assert not missing, f"facts some clouds lack: {missing}"


def test_an_unknown_cloud_is_a_key_error_not_an_import_of_anything():
    with pytest.raises(KeyError):
        facts.of("ibm")
    with pytest.raises(KeyError):
        facts.of("__init__")


def test_reading_facts_imports_no_pulumi_and_no_cloud_sdk():
    code = ("import sys; from recipes import facts; [facts.of(p) for p in facts.PROVIDERS]; "
            "import recipes.facts.any_cloud; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pulumi', 'pulumi_aws', 'pulumi_gcp', 'pulumi_azure_native', 'pulumi_kubernetes', 'boto3', 'google', 'azure')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
