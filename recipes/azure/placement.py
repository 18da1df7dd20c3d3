"""Where an Azure component's resources go: its resource group, its location, its tags.

azure-native has no provider-wide default tags or group, so every component's args
carry these three (its args class derives from `Placement`) and every resource it
creates is given them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass
class Placement:
    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]
