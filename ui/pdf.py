"""The manager screen's PDF export: the same writer as the CLI's (:mod:`pos_app.pdf`, no Qt)."""

from pos_app.pdf import write_pdf

__all__ = ["write_pdf"]
