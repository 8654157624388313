"""The ``ruqi`` program (``[project.scripts]``): the command line, loaded with the garbage collector paused.

Loading the command line (SQLAlchemy, typer, rich, the engine's tables) makes some 300 000 objects
and frees almost none.  Python's cyclic collector runs every few hundred new objects and walks the
older generations again and again while nothing is garbage yet, and walks every object once more
when the process ends: about a quarter of a short command's CPU time (``ruqi status`` on this
machine: ~100 ms of ~420 ms; benchmarks/bench_startup.py).  So the collector is off while the
command line loads; what was loaded is then frozen (``gc.freeze``: kept out of every later
collection, as it lives until the process ends anyway) and the collector is on again for the
command's own work, however long it runs.  Nothing else changes: the same ``engine.cli.main`` runs.
A frozen object is never collected, so what a command opens it closes itself rather than leave it
to the collection at exit: ``run_app`` closes the database connections when the command ends.

Not done: freezing again at exit (``atexit``), which would spare the interpreter's last collection
(~10 ms more): objects of the command's run left in reference cycles would then never be finalized,
and a file or connection among them never flushed or closed.
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    # Imported here, not at the top, only so that the collector is off while it loads (no cycle:
    # nothing imports this module).
    from .cli import main as run_cli

    gc.freeze()
    gc.enable()
    run_cli()
