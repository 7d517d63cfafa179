"""The notify service: SMS that reaches people exactly once (docs/notify.md)."""
