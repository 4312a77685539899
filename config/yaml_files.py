"""Reading Resync's YAML files (runbooks, policies, rules, message codes) with libyaml.

PyYAML's pure-Python reader takes about 17 ms of a `resync ask` for the runbook catalog and
the message codes; its C reader (``CSafeLoader``, in PyYAML's wheels) gives the same data
several times faster, with the same line marks in its errors. Where PyYAML was built
without libyaml, the pure-Python ``SafeLoader`` is used: same results, only slower.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

__all__ = ["safe_load"]

_LOADER: Final[type[yaml.SafeLoader]] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """Parse one YAML document as `yaml.safe_load` does (plain data only, no tags).

    Args:
        text: The document.

    Returns:
        The data (None for an empty document).

    Raises:
        yaml.YAMLError: The text is not valid YAML (with its line and column).
    """
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, C or Python
