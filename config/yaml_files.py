"""Reading Resync's YAML files (runbooks, policies, rules, message codes) with libyaml.

The files whose problems are reported with a line number need the document's nodes (their
marks) and its data: `compose_and_load` parses once for both.

PyYAML's pure-Python reader takes about 17 ms of a `resync ask` for the runbook catalog and
the message codes; its C reader (``CSafeLoader``, in PyYAML's wheels) gives the same data
several times faster, with the same line marks in its errors. Where PyYAML was built
without libyaml, the pure-Python ``SafeLoader`` is used: same results, only slower.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

__all__ = ["compose_and_load", "safe_load"]

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


def compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """Parse one YAML document once: its node tree (line marks) and its data.

    What `yaml.compose` and `safe_load` give, from a single parse (``yaml.load`` itself is
    this: compose the document, then construct its data). Constructing flattens merge keys
    (``<<: *anchor``) into the node tree, so a merged key's line is its anchor's.

    Args:
        text: The document.

    Returns:
        The root node (None for an empty document) and the data (None for an empty one).

    Raises:
        yaml.YAMLError: The text is not valid YAML (with its line and column).
    """
    loader = _LOADER(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()
