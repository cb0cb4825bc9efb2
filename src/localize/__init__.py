"""localize: dub and subtitle Chinese microdramas for overseas markets."""

__version__ = "0.1.0"
