"""selfeval's pipeline: file -> parser -> cells -> layout -> matching -> scores -> checks -> store."""

__version__ = "0.1.0"
