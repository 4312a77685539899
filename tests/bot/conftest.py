"""The surface test kits are importable from any test module under tests/bot.

Tests have no packages (no __init__.py); each kit is a uniquely named module next to its
tests, and the cross-surface tests import both kits by name. (This conftest is not at
tests/ on purpose: pytest puts a conftest's folder on sys.path, and tests/integrations
would then shadow the real `integrations` package.)
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).parent
for kit in ("slack", "teams"):
    path = str(_HERE / kit)
    if path not in sys.path:
        sys.path.insert(0, path)
