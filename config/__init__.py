"""Configuration: the one `Settings` object and the shipped defaults (runbooks, policies, rules)."""

from config.settings import ConfigurationError, Settings, load_settings

__all__ = ["ConfigurationError", "Settings", "load_settings"]
