"""`ruqi templates check`: the command lives with the renderer it lints."""

from ..render.cli import register

__all__ = ["register"]
