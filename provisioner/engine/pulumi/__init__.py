"""The Pulumi adapter: the engine seam (provisioner.engine) implemented with Pulumi's Automation API.

One concept per module: cli (finding and installing the CLI), passphrase, plugins, events,
messages (errors and their fixes), state (what an exported state says), automation (the
Automation API stack the teardown flows run on), engine (PulumiEngine), process (the CLI
process Ctrl-C stops gracefully). Importing this package imports no Pulumi SDK.
"""

from provisioner.engine.pulumi.cli import find_pulumi_cli, install_pulumi_cli
from provisioner.engine.pulumi.engine import PulumiEngine

__all__ = ["PulumiEngine", "find_pulumi_cli", "install_pulumi_cli"]
