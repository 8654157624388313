"""Start-up: a command loads only what it uses (issue 10, whole-process speed).

`ruqi status`, `register`, `review` and `archive search` read the database and print; the
renderers, the PDF and Office libraries and the image decoders load only in a process that
renders, reads or writes those files.  Checked in a fresh interpreter, on the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.workspace import init

# Third-party libraries that only rendering, reading returns or writing workbooks need.
HEAVY = ("weasyprint", "pypdf", "pypdfium2", "docxtpl", "docx", "openpyxl", "PIL", "segno", "zxingcpp", "bagit",
         "jinja2", "lxml", "cssselect2", "fontTools", "xlrd")

_PROBE = """
import json, sys
from engine.cli import main
sys.argv = ["ruqi", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("\\nLOADED=" + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def loaded_by(args: list[str], cwd: Path) -> set[str]:
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], cwd=cwd, capture_output=True, text=True,
                       timeout=120, check=False)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("LOADED=")), None)
    assert line is not None, r.stderr[-2000:]
    return set(json.loads(line.removeprefix("LOADED="))) & set(HEAVY)


def test_importing_the_cli_loads_no_renderer(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-c", "import sys, engine.cli; print(sorted(sys.modules))"],
                       capture_output=True, text=True, timeout=120, check=True)
    top = {m.split(".")[0] for m in eval(r.stdout)}  # noqa: S307 - our own printed list
    assert top & set(HEAVY) == set()
    assert "engine.generate" in r.stdout and "engine.review.export" in r.stdout  # every command is registered


@pytest.mark.parametrize("args", [["status"], ["register"], ["review"], ["archive", "search"], ["--help"]])
def test_read_only_commands_load_no_renderer(tmp_path: Path, args: list[str]) -> None:
    init(tmp_path / "ws")
    assert loaded_by(args, tmp_path / "ws") == set()
