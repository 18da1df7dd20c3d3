"""The security baseline (docs/security-rules.md) as checks over a plan.

Each rule is data (id, title, anchors, default) plus one small predicate per
cloud over the resource graph the real program declares under mocks, the same
graph `recipe plan` shows. `recipe check` prints the verdicts and `recipe
deploy` refuses a stack with a failing rule unless --skip-checks.

Verdicts: pass; fail (the program breaks the rule: a bug, or a deliberately
bad resource); warn (the user chose the weaker setting, e.g. no --allow-cidr
or --network public); option (a rule that costs money and is off, e.g. KMS);
n/a (the rule has nothing to check on this cloud or in this stack).

- `rules`: the Rule type and the RULES table; `queries`: the vocabulary the
  predicates are written in; `aws`, `gcp`, `azure`: each cloud's predicates;
  `workloads`: the Kubernetes workload checks; `keys_secrets_data`: the
  whole-stack checks.
"""

from __future__ import annotations

from .queries import STATUSES, Verdict
from .rules import RULES, RULES_BY_ID, Rule, RuleResult, evaluate, failures
from .workloads import hardened

__all__ = ["RULES", "RULES_BY_ID", "STATUSES", "Rule", "RuleResult", "Verdict", "evaluate", "failures", "hardened"]
