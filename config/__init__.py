"""Settings: config/default.toml, then a local file, then TWINBOT_* environment variables."""

from config.settings import ConfigError, Settings, load_settings

__all__ = ["ConfigError", "Settings", "load_settings"]
