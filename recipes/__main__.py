"""Pulumi entry point: `pulumi up` in the repository root runs this program.

Reads the stack description from the stack's config (`recipe:provider`,
`recipe:name`, `recipe:region`, `recipe:without`, ... : every stack-file
field, as `recipe:<field>`), validates it like the CLI does, and declares the
same resources `recipe deploy` would. The stack name defaults to the Pulumi
stack's name.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Pulumi runs this directory as a script, which puts it first on sys.path; its
# subpackages (aws/, kubernetes/) must not shadow real top-level packages.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
try:
    import recipes  # noqa: F401  (installed by `pip install -e .`, see requirements.txt)
except ImportError:
    sys.path.insert(0, str(HERE.parent))

import pulumi  # noqa: E402

from recipes import build  # noqa: E402
from recipes.spec import Layer, SpecError, load_spec  # noqa: E402
from recipes.stack_fields import config_values  # noqa: E402


def config_layer() -> Layer:
    """Every stack-file field set as recipe:<field> (recipes/stack_fields.py decodes them)."""
    values = config_values(pulumi.Config("recipe").get)
    values.setdefault("name", pulumi.get_stack())
    return Layer("pulumi config (recipe:*)", values)


try:
    spec = load_spec(config_layer())
except SpecError as exc:
    raise pulumi.RunError(str(exc)) from None
if not spec.suffix and spec.provider != "kubernetes":  # a cluster that exists: no global name of ours
    # Global names (buckets, registries) need a suffix of this stack's own, kept in its config.
    from recipes import naming

    raise pulumi.RunError(
        "recipe:suffix is not set: global names need a suffix of this stack's own. For a new stack run "
        f"`pulumi config set recipe:suffix {naming.new_suffix()}`; for a stack deployed before suffixes were "
        f"random, `pulumi config set recipe:suffix {naming.legacy_suffix(spec.provider, spec.name, spec.region)}`"
    )

build(spec)
