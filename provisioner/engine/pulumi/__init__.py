"""The Pulumi adapter: the engine seam (provisioner.engine) implemented with Pulumi's Automation API."""

from provisioner.engine import PulumiEngine, find_pulumi_cli, install_pulumi_cli  # until the adapter's modules land here

__all__ = ["PulumiEngine", "find_pulumi_cli", "install_pulumi_cli"]
