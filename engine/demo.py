"""`ruqi demo`: the main job on samples/, start to finish, in a fresh workspace.

1. a workspace for 大同市应急管理局;  2. the sample 2025 plan → forms;  3. a plan with mistakes →
per-cell findings;  4. the same plan again → nothing counted twice; 4b. a visit over its annual cap →
refused, then approved with a reason;  5. enterprises return their
cards (ticked PDFs, filled Word files, one 是, two late, one broken file) → ingest; 5b. paper cards: a
scan read by the machine, a phone photo with a corrected tick confirmed by a person;  6. cards still
missing;  7. counties return 附件2 → ingest → city summary;  8. the 纪委 review and its bag;
9. 四性检测 of the archive.  Dates are those of the sample year: "today" is 2025-06-30.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from . import workspace
from .accounts import Role, add_user
from .archive import verify
from .cli.common import CliCode
from .cli.confirm_cmd import print_result as print_confirmed
from .cli.confirm_cmd import print_waiting
from .cli.generate_cmd import print_result
from .cli.inbox_cmd import print_report
from .cli.review_cmd import print_review
from .cli.status_cmd import status_cmd
from .confirm import confirm, waiting_cards
from .confirm_sheet import write_sheets
from .findings import RuqiError, error
from .forms import NO, QUESTION_NUMBERS, YES, FormKey
from .generate import BatchResult, RowStatus, generate
from .inbox import ingest
from .review import build_review
from .review.export import export_bundle
from .review.report import write_xlsx
from .simulate import fill_blank, fill_docx, tick_pdf
from .simulate_scan import PENS, Ambiguity, Capture, FileTruth, Fmt, paper_card
from .stats import aggregate, write_blanks
from .stats.aggregate import status_line, write_aggregate
from .web import DEFAULT_HOST, DEFAULT_PORT
from .workspace import Workspace

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
TODAY = date(2025, 6, 30)  # the demo's "today", in the sample plan's year
PLANNED = date(2025, 3, 1)  # the day the clerk generates the sample plans (before the first visit)


# Written into every demo folder: only a folder holding it is emptied by the next ``ruqi demo``.
DEMO_MARK = ".ruqi-demo"


def fresh_folder(directory: Path) -> None:
    """``directory`` as an empty folder for the demo.  A folder holding anything but an earlier demo
    (a clerk's real workspace named by mistake, ``ruqi demo .``) is refused, never deleted; an earlier
    demo is emptied in place, not removed, so that it may be the current folder."""
    if directory.exists() and not directory.is_dir():
        raise RuqiError(error(CliCode.DEMO_FOLDER_IN_USE, f"“{directory}”是一个文件，不是文件夹：演示没有运行。"
                              "请换一个名字，例如 ruqi demo 演示。"))
    if not directory.is_dir() or not any(directory.iterdir()):
        return
    if not (directory / DEMO_MARK).is_file():
        raise RuqiError(error(CliCode.DEMO_FOLDER_IN_USE, f"文件夹“{directory}”里已有文件，不是以前的演示目录："
                              "演示会清空它，为免删除您的文件，演示没有运行。请换一个新的目录名，例如 ruqi demo 演示。"))
    for p in directory.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def run_demo(directory: Path, console: Console) -> int:

    started = time.perf_counter()
    fresh_folder(directory)
    ws = workspace.init(directory)
    (directory / DEMO_MARK).write_text("ruqi demo 的演示目录：再次运行 ruqi demo 时会清空并重建。\n", encoding="utf-8")
    console.rule("1. 新建工作目录")
    console.print(escape(f"{ws.root}（{ws.config.name}）"))

    console.rule("2. 按示例计划批量生成通知书、公示、反馈卡")
    good = generate(ws, SAMPLES / "检查计划-2025.xlsx", today=PLANNED)
    print_result(good)

    console.rule("3. 有错误的计划：逐行逐列说明错误，正确的行照常生成")
    bad = generate(ws, SAMPLES / "检查计划-有错误.xlsx", formats=("docx",), today=PLANNED)
    print_result(bad)

    console.rule("4. 同一计划再生成一次：不重复登记、不重复计数")
    again = generate(ws, SAMPLES / "检查计划-2025.xlsx", formats=("docx",), today=PLANNED)
    console.print(f"已在台账中的检查：{sum(o.existing for o in again.outcomes)} / {again.count(RowStatus.GENERATED)}")

    console.rule("4b. 超过年度次数上限：拒绝生成；经批准并写明理由后生成，列入纪委审查")
    extra = SAMPLES / "检查计划-补充.xlsx"
    print_result(generate(ws, extra, formats=("pdf",), today=PLANNED))
    print_result(generate(ws, extra, formats=("pdf",), allow_over_cap=True, reason="汛期专项执法检查，经局长批准",
                          today=PLANNED))

    console.rule("5. 企业交回反馈卡，收件箱处理")
    returned = return_cards(ws, good)
    console.print(f"放入收件箱 {returned} 个文件（PDF 勾选、Word 填写、一份“是”、两份逾期、一份损坏）")
    ingest_step(ws, console)

    console.rule("5b. 纸质反馈卡：扫描件由机器识读，照片上看不清的题由人工核对录入")
    photo = paper_returns(ws, good)
    console.print("放入收件箱 2 个文件：一份打印后用笔勾选再扫描的 PDF，一份用手机拍的照片（第6题的勾被涂改过）")
    ingest_step(ws, console)
    confirmed = confirm_step(ws, console, photo)

    console.rule("6. 尚未交回的反馈卡")

    status_cmd(workspace=ws.root, overdue=True, today=TODAY.isoformat(), as_json=False)

    console.rule("7. 县区报送附件2，市局汇总")
    stats_step(ws, console)

    console.rule("8. 纪委审查清单和审查包")
    review_step(ws, console)

    console.rule("9. 档案四性检测")

    rep = verify(ws)
    console.print(f"四性检测：{'全部通过' if rep.ok else '发现问题'}；错误 {len([f for f in rep.findings if f.is_error])} 项，"
                  f"提示 {len([f for f in rep.findings if not f.is_error])} 项。")

    console.rule("10. 网页")
    web_step(ws, console)

    ok = good.count(RowStatus.GENERATED) > 0 and bad.count(RowStatus.INVALID) > 0 and rep.ok and confirmed
    console.rule(f"演示完成（{time.perf_counter() - started:.0f} 秒），工作目录：{ws.root}" if ok else "演示未按预期完成")
    return 0 if ok else 1


# The demo's web accounts, one per role; the site listens on 127.0.0.1 only, so a printed password is no secret.
DEMO_USERS = {"演示办事员": Role.CLERK, "演示纪委": Role.REVIEWER, "演示管理员": Role.ADMIN}
DEMO_PASSWORD = "ruqi-demo-2025"


def web_step(ws: Workspace, console: Console) -> None:
    for name, role in DEMO_USERS.items():
        add_user(ws, name, role, DEMO_PASSWORD, replace=True, actor="演示")
    console.print(escape(f"启动网页：.venv/bin/ruqi serve --workspace {ws.root} --today {TODAY.isoformat()}"))
    console.print(f"网页地址：http://{DEFAULT_HOST}:{DEFAULT_PORT}/")
    console.print("演示登录：" + "；".join(f"{name}（{role.zh}）" for name, role in DEMO_USERS.items())
                  + f"，密码均为 {DEMO_PASSWORD}")


def _arrived(path: Path, when: date) -> None:
    """The inbox takes a file's modification time as its arrival time."""
    t = datetime.combine(when, datetime.min.time()).replace(hour=10).timestamp()
    os.utime(path, (t, t))


def return_cards(ws: Workspace, batch: BatchResult) -> int:
    """What enterprises send back: most tick the PDF, some fill the Word card; a few do not answer."""
    done = [o for o in batch.outcomes if o.status is RowStatus.GENERATED and o.inspection]
    all_no = dict.fromkeys(QUESTION_NUMBERS, NO)
    n = 0
    for k, o in enumerate(done[:32]):
        insp = o.inspection
        assert insp is not None
        pdf, docx = o.forms[(FormKey.CARD, "pdf")], o.forms[(FormKey.CARD, "docx")]
        answers = all_no | ({3: YES} if k == 5 else {}) | ({7: YES, 9: YES} if k == 17 else {})
        if k % 8 == 3:
            dst = fill_docx(docx, ws.inbox / f"反馈卡-{insp.enterprise}.docx", answers, head="刘海峰", position="安全副总",
                            phone="13912345678")
        else:
            dst = tick_pdf(pdf, ws.inbox / f"{insp.serial}-反馈卡.pdf", answers,
                           {"head": "王立新", "position": "总经理", "phone": "0352-5123456"} if k % 2 else None)
        _arrived(dst, insp.end + timedelta(days=6 if k in (9, 21) else 1))
        n += 1
    # A transfer cut short: the start of a PDF and nothing else.
    (ws.inbox / "扫描件（传输中断）.pdf").write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog")
    return n + 1


def paper_returns(ws: Workspace, batch: BatchResult) -> FileTruth:
    """Two enterprises print the card and tick it with a pen: one scans it to PDF, one photographs it
    with a phone (and corrected a tick on question 6: the machine must leave that row to a person)."""
    done = [o for o in batch.outcomes if o.status is RowStatus.GENERATED and o.inspection]
    scanned, photographed = done[32], done[33]
    assert scanned.inspection and photographed.inspection
    dst = ws.inbox / f"扫描件-{scanned.inspection.enterprise}.pdf"
    paper_card(scanned.forms[(FormKey.CARD, "pdf")], dst, {}, Capture(dpi=200, skew=1.5, noise=2, gray=True, fmt=Fmt.PDF),
               seed=1)
    _arrived(dst, scanned.inspection.end + timedelta(days=2))
    dst = ws.inbox / "IMG_20250612_093115.jpg"
    truth = paper_card(photographed.forms[(FormKey.CARD, "pdf")], dst, {2: YES},
                       Capture(dpi=200, phone=True, perspective=0.04, shadow=0.3, noise=3, blur=0.6, fmt=Fmt.JPEG,
                               quality=85), seed=2, ambiguous={6: Ambiguity.CORRECTED}, pen=PENS[1])
    _arrived(dst, photographed.inspection.end + timedelta(days=1))
    return truth


def confirm_step(ws: Workspace, console: Console, photo: FileTruth) -> bool:
    """The clerk lists the cards waiting for a person, looks at the sheet and records what the photo says."""

    cards = waiting_cards(ws, today=TODAY)
    print_waiting(cards)
    sheets = write_sheets(ws, cards)
    if sheets.pdf is not None:
        console.print(escape(f"核对单：{sheets.pdf}"))
    card = photo.cards[0]
    waiting = next((c for c in cards if c.serial == card.serial), None)
    if waiting is None:
        console.print("照片上的反馈卡不在待核对清单中。")
        return False
    said = [f"{q}={card.intended[str(q)]}" for q in waiting.unresolved]
    console.print(escape(f"核对人对照照片录入：ruqi confirm {card.serial} " + " ".join(f"--q {q}" for q in said)
                         + " --by 李明"))
    res = confirm(ws, card.serial, questions=said, by="李明")
    for f in res.findings:
        console.print(escape(f"✗ {f.message}（{f.code}）"))
    if res.ok:
        print_confirmed(res)
    return res.ok


def ingest_step(ws: Workspace, console: Console) -> None:

    print_report(ingest(ws, actor="办公室"))


def stats_step(ws: Workspace, console: Console) -> None:

    due = date(2025, 6, 18)
    blanks = write_blanks(ws, 2, "2025Q2", due=due)
    console.print(f"已生成附件2空白表 {len(blanks.files)} 份：{escape(str(blanks.files[0].parent))}")
    for i, blank in enumerate(blanks.files):
        if i in (4, 7):
            continue  # two counties have not reported yet
        staff, firms = 20 + 3 * i, 40 + 11 * i
        values = {"B6": staff, "C6": staff - i % 3, "D6": firms, "E6": firms - 2 * (i % 4), "E3": "2025年6月16日"}
        if i == 9:
            values["C6"] = staff + 2  # more registered than expected: a warning, not a rejection
        dst = fill_blank(blank, ws.inbox / blank.name, values)
        _arrived(dst, due + timedelta(days=3 if i == 2 else -2))
    ingest_step(ws, console)
    agg = aggregate(ws, 2, "2025Q2", due=due)
    xlsx, pdf = write_aggregate(agg, ws.outbox / "附件2汇总-2025Q2.xlsx")
    console.print(escape(status_line(agg)))
    console.print(escape(f"汇总表：{xlsx}\n报告：{pdf}"))


def review_step(ws: Workspace, console: Console) -> None:

    review = build_review(ws, today=TODAY)
    print_review(review)
    out = write_xlsx(review, ws.outbox / "纪委审查清单.xlsx")
    res = export_bundle(ws, ws.outbox / "纪委审查包", only_flagged=True, today=TODAY, actor="机关纪委")
    console.print(escape(f"审查清单：{out}"))
    console.print(f"审查包（BagIt）：{escape(str(res.bag_dir))}，{len(res.serials)} 次检查、{len(res.payload)} 个文件；"
                  f"核验：.venv/bin/bagit.py --validate {res.bag_dir}")
