"""The configuration reference, generated from `Settings`: ``.env.example`` and the README table.

``python -m config.reference`` rewrites both; a test fails when either is out of date, so
every setting is always documented where people look.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from config.settings import Settings

__all__ = ["env_example", "markdown_table", "update_files"]

_HEADER = (
    "# Resync configuration. Copy to .env (or set in the environment) and fill in what you use.\n"
    "# Every setting has the RESYNC_ prefix; unset settings take the default shown.\n"
    "# With nothing set, `resync demo` runs on the embedded default (bundled simulator, SQLite).\n"
)
_TABLE_START = "| variable | default | what it is |"


def _default(name: str) -> str:
    value = Settings.model_fields[name].default
    if value is None or isinstance(value, SecretStr):
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def env_example() -> str:
    """The text of ``.env.example``: every setting, commented, with its default."""
    parts = [_HEADER]
    for name, field in Settings.model_fields.items():
        parts.append(f"# {field.description}\n# RESYNC_{name.upper()}={_default(name)}\n")
    return "\n".join(parts)


def markdown_table() -> str:
    """The README's configuration table."""
    rows = [_TABLE_START, "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = _default(name)
        shown = f"`{default}`" if default else "—"
        secret = " (secret)" if "SecretStr" in str(field.annotation) else ""
        text = (field.description or "").replace("|", "/")
        rows.append(f"| `RESYNC_{name.upper()}` | {shown} | {text}{secret} |")
    return "\n".join(rows)


def update_files(root: Path) -> None:
    """Rewrite ``.env.example`` and the table in ``README.md`` under ``root``."""
    (root / ".env.example").write_text(env_example(), encoding="utf-8")
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(_TABLE_START) + r"\n(?:\|.*\|\n?)+")
    readme.write_text(pattern.sub(markdown_table() + "\n", text, count=1), encoding="utf-8")


if __name__ == "__main__":
    update_files(Path(__file__).resolve().parents[1])
