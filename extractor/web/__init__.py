"""The review station (`selfeval serve`): forms, a form's flagged items with their evidence, the corrections log."""

from .app import create_app, is_loopback

__all__ = ["create_app", "is_loopback"]
