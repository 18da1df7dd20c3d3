"""GCP facts: constants only (see recipes/facts/__init__.py). Sections are headed by what reads them."""

from __future__ import annotations

import re
