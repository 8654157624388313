"""How ``workspace_release1.tar.xz`` was made: a small filled workspace, by the first release's own code.

The first release is commit b43c139 (schema versions 1–3).  Run this with that release's tree first on
``sys.path`` (its dependencies are a subset of today's ``.venv``):

    git archive b43c139 | tar -x -C /tmp/rel1
    PYTHONPATH=/tmp/rel1 .venv/bin/python tests/data/make_release1_workspace.py /tmp/ws
    tar --sort=name --owner=0 --group=0 --numeric-owner -cf - -C /tmp/ws archive ruqi.key ruqi.toml inbox \\
        | xz -9e > tests/data/workspace_release1.tar.xz

What it holds: a 4-row plan generated as Word files (PDFs would make the file ten times larger), three
cards returned as filled Word cards (one answering 是, one late), a second card for one inspection
(REVISED), a broken file rejected, one county statistics workbook filed.
"""

import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl

import engine
from engine import workspace
from engine.generate import RowStatus, generate
from engine.inbox import ingest
from engine.simulate import fill_blank, fill_docx
from engine.stats import write_blanks


def arrived(path: Path, when: date) -> None:
    t = datetime.combine(when, datetime.min.time()).replace(hour=10).timestamp()
    os.utime(path, (t, t))


def main(out: Path) -> None:
    samples = Path(engine.__file__).resolve().parent.parent / "samples"
    ws = workspace.init(out)
    wb = openpyxl.load_workbook(samples / "检查计划-2025.xlsx")
    sheet = wb.worksheets[0]
    header = next(r for r in range(1, 10) if any(isinstance(c.value, str) and "企业名称" in c.value for c in sheet[r]))
    sheet.delete_rows(header + 5, sheet.max_row)
    plan = out.parent / "plan4.xlsx"
    wb.save(plan)
    batch = generate(ws, plan, formats=("docx",), issue_date=date(2025, 3, 1))
    done = [o for o in batch.outcomes if o.status is RowStatus.GENERATED]
    assert len(done) == 4, [(o.status, o.findings) for o in batch.outcomes]

    no = {q: "否" for q in range(1, 11)}
    a, b, c = done[0], done[1], done[2]
    arrived(fill_docx(a.forms[("card", "docx")], ws.inbox / "a.docx", no | {3: "是"}, head="王", position="经理",
                      phone="13912345678"), a.inspection.end + timedelta(days=1))
    arrived(fill_docx(b.forms[("card", "docx")], ws.inbox / "反馈卡.docx", no, head="刘海峰", position="安全副总",
                      phone="13912345678"), b.inspection.end + timedelta(days=1))
    arrived(fill_docx(c.forms[("card", "docx")], ws.inbox / "c.docx", no, head="李", position="厂长",
                      phone="13912345679"), c.inspection.end + timedelta(days=9))
    (ws.inbox / "扫描件（传输中断）.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog")
    print([(o.file, str(o.status), o.flags) for o in ingest(ws, actor="办公室").outcomes])
    arrived(fill_docx(b.forms[("card", "docx")], ws.inbox / "b2.docx", no | {7: "是"}, head="刘海峰",
                      position="安全副总", phone="13912345678"), b.inspection.end + timedelta(days=2))
    print([(o.file, str(o.status), o.flags) for o in ingest(ws, actor="办公室").outcomes])

    due = date(2025, 6, 18)
    blank = write_blanks(ws, 2, "2025Q2", due=due).files[0]
    arrived(fill_blank(blank, ws.inbox / blank.name, {"B6": 20, "C6": 19, "D6": 40, "E6": 38, "E3": "2025年6月16日"}),
            due - timedelta(days=2))
    print([(o.file, str(o.status)) for o in ingest(ws, actor="办公室").outcomes])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
