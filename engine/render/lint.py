"""`ruqi templates check`: find what a clerk's edit broke in a template, before generating.

Word stores a paragraph as runs of equally formatted text and splits a run wherever the
formatting, the spell-checker or the revision id changes — also in the middle of a tag such as
``{{ notice.t.body }}``.  docxtpl glues most split tags back together, but not all (a tag
broken over two paragraphs, a half-formatted tag), so every split is reported.  Then the tags
are parsed the way the renderer parses them (syntax), and every variable they name is looked
up in a sample context (unknown variables, ``card.items`` that Jinja would read as the dict
method).  The HTML templates get the syntax and variable checks too.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..findings import Finding, error, exception_detail, exception_reason, warning
from .codes import RenderCode
from .docx import _TEMPLATED, find_qr_member, jinja_env
from .drift import check_drift
from .pdf import html_context
from .pdf import jinja_env as html_jinja_env
from .sample import lint_context
from .templates import FORM_KEYS, docx_template, html_template_name, resolve_templates_dir

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    import jinja2
    from docxtpl import DocxTemplate
    from jinja2 import nodes
    from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TAG = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.DOTALL)
_OPEN_CLOSE = re.compile(r"{{|{%|{#|}}|%}|#}")
_PART_LABEL = {"document": "正文", "header": "页眉", "footer": "页脚", "footnotes": "脚注"}


def check_templates(templates_dir: str | Path | None = None) -> list[Finding]:
    """Findings for the three .docx and the three HTML templates in ``templates_dir``."""
    tdir = resolve_templates_dir(templates_dir)
    sample = lint_context()
    findings: list[Finding] = []
    broken: set[str] = set()
    for key in FORM_KEYS:
        found = check_docx_template(docx_template(tdir, key), sample)
        broken |= {key for f in found if f.is_error}
        findings += found
    html_env = html_jinja_env(tdir)
    for key in FORM_KEYS:
        found = check_html_template(html_env, tdir / html_template_name(key), html_context(sample))
        broken |= {key for f in found if f.is_error}
        findings += found
    for key in FORM_KEYS:
        if key not in broken:  # a template that cannot be rendered has been reported already
            findings += check_drift(tdir, key, sample)
    return findings


def templates_digest(templates_dir: str | Path | None = None) -> str:
    """What :func:`check_templates`'s verdict depends on: every file of the templates folder (by
    content) and the engine's code (by name, size and time of change).  Equal digests, equal
    verdicts, so a caller may keep a clean verdict and skip the check (``ruqi generate``)."""
    tdir = resolve_templates_dir(templates_dir)
    h = hashlib.sha256()
    for p in sorted(q for q in tdir.iterdir() if q.is_file()):
        h.update(p.name.encode() + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    code = Path(__file__).resolve().parents[1]  # engine/
    for p in sorted(code.rglob("*.py")):
        st = p.stat()
        h.update(f"{p.relative_to(code)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


# ---- .docx ----------------------------------------------------------------------------------

def check_docx_template(path: Path, sample: dict[str, Any] | None = None) -> list[Finding]:
    from docxtpl import DocxTemplate
    from lxml import etree

    sample = sample if sample is not None else lint_context()
    name = path.name
    if not path.is_file():
        return [error(RenderCode.TEMPLATE_MISSING, f"找不到模板文件 {name}。", name)]
    try:
        with zipfile.ZipFile(path) as z:
            members = [(info, z.read(info)) for info in z.infolist()]
    except (zipfile.BadZipFile, OSError) as e:
        return [error(RenderCode.TEMPLATE_MISSING, f"模板 {name} 不是有效的 Word 文档（.docx）：{exception_reason(e)}。", name,
                      detail=exception_detail(e))]
    findings: list[Finding] = []
    tpl = DocxTemplate(str(path))
    for info, blob in members:
        m = _TEMPLATED.match(info.filename)
        if not m:
            continue
        label = _PART_LABEL.get(re.sub(r"\d+$", "", m.group(1)), "")
        try:
            root = etree.fromstring(blob)
        except etree.XMLSyntaxError as e:
            findings.append(error(RenderCode.TEMPLATE_MISSING, f"模板 {name} 的 {info.filename} 已损坏（第{e.lineno}行附近）。", name,
                                  detail=exception_detail(e)))
            continue
        paragraphs = list(root.iter(f"{W}p"))
        part_findings = list(_split_and_unclosed(name, label, paragraphs))
        findings += part_findings
        broken = {f.where for f in part_findings if f.code == RenderCode.TEMPLATE_SYNTAX}
        texts = ["".join(_texts(p)) for p in paragraphs]
        for n, p in enumerate(paragraphs, 1):
            if _where(name, label, n) in broken:  # already reported: blank it so the rest can be parsed
                for t in p.iter(f"{W}t"):
                    t.text = ""
        xml = etree.tostring(root, encoding="unicode")
        findings += [f for f in _jinja_checks(name, label, xml, texts, tpl, sample) if f.where not in broken]
    if find_qr_member(members) is None:
        findings.append(warning(RenderCode.TEMPLATE_NO_QR,
                                f"模板 {name} 中找不到二维码图片（图片“替代文字”应为 ruqi:qr），生成的文书将没有二维码。",
                                name))
    return findings


def _where(name: str, label: str, n: int) -> str:
    return f"{name} {label}第{n}段"


def _texts(p: etree._Element) -> list[str]:
    """The paragraph's w:t texts in order, leaving out paragraphs nested in text boxes."""
    return [t.text or "" for t in p.iter(f"{W}t") if next(t.iterancestors(f"{W}p")) is p]


def _snippet(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _split_and_unclosed(name: str, label: str, paragraphs: list[etree._Element]) -> Iterator[Finding]:
    for n, p in enumerate(paragraphs, 1):
        pieces = _texts(p)
        text = "".join(pieces)
        if "{" not in text and "}" not in text:
            continue
        owner = [i for i, piece in enumerate(pieces) for _ in piece]  # character -> w:t index
        for m in _TAG.finditer(text):
            runs = sorted(set(owner[m.start():m.end()]))
            if len(runs) > 1:
                parts = "”+“".join(pieces[i] for i in runs)
                yield warning(
                    RenderCode.TEMPLATE_SPLIT_TAG,
                    f"{_where(name, label, n)}：占位符“{m.group(0)}”被 Word 拆成了 {len(runs)} 段（“{parts}”），"
                    "多因只改了其中几个字、格式不一致或拼写检查。请在 Word 中删掉整个占位符，再一次性输入（或粘贴为纯文本）。",
                    _where(name, label, n))
        rest = _TAG.sub("", text)
        stray = _OPEN_CLOSE.findall(rest)
        if stray:
            yield error(
                RenderCode.TEMPLATE_SYNTAX,
                f"{_where(name, label, n)}：“{'”“'.join(stray)}”没有配对（段落内容：“{_snippet(text)}”）。"
                + _unclosed_fix(rest),
                _where(name, label, n))


_HALF_TAG = re.compile(r"{{\s*([A-Za-z_][\w.\[\]'\"|]*)\s*}?(?!})")


def _unclosed_fix(rest: str) -> str:
    """``{{ card.t.experts }`` → the whole tag to type instead."""
    m = _HALF_TAG.search(rest)
    if m:
        return f"请把“{m.group(0)}”改成 {{{{ {m.group(1)} }}}}（两边各两个花括号，在同一段内写完整）。"
    return "占位符必须在同一段内写完整，例如 {{ notice.t.body }}。"


def _jinja_checks(name: str, label: str, xml: str, texts: list[str], tpl: DocxTemplate,
                  sample: dict[str, Any]) -> list[Finding]:
    # One line per paragraph, as docxtpl does, so a parser line number names the paragraph.
    import jinja2

    patched = tpl.patch_xml(re.sub(r"<w:p([ >])", r"\n<w:p\1", xml))

    def where(lineno: int) -> tuple[str, str]:
        n = max(1, min(lineno - 1, len(texts)))
        return _where(name, label, n), _snippet(texts[n - 1]) if texts else ""

    try:
        ast = jinja_env().parse(patched)
    except jinja2.TemplateSyntaxError as e:
        w, snip = where(e.lineno)
        return [error(RenderCode.TEMPLATE_SYNTAX, f"{w}：模板语法错误：{e.message}（段落内容：“{snip}”）", w)]
    out = []
    for lineno, path, problem in unknown_variables(ast, sample):
        w, _ = where(lineno)
        out.append(error(RenderCode.TEMPLATE_UNKNOWN_VAR, f"{w}：{_unknown_message(path, problem, sample)}", w))
    return out


# ---- HTML -----------------------------------------------------------------------------------

def check_html_template(env: jinja2.Environment, path: Path, sample: dict[str, Any]) -> list[Finding]:
    import jinja2

    name = path.name
    if not path.is_file():
        return [error(RenderCode.TEMPLATE_MISSING, f"找不到模板文件 {name}。", name)]
    source = path.read_text(encoding="utf-8")
    try:
        ast = env.parse(source)
    except jinja2.TemplateSyntaxError as e:
        w = f"{name} 第{e.lineno}行"
        return [error(RenderCode.TEMPLATE_SYNTAX, f"{w}：模板语法错误：{e.message}", w)]
    return [error(RenderCode.TEMPLATE_UNKNOWN_VAR, f"{name} 第{ln}行：{_unknown_message(p, problem, sample)}",
                  f"{name} 第{ln}行")
            for ln, p, problem in unknown_variables(ast, sample)]


# ---- variables ------------------------------------------------------------------------------

def _unknown_message(path: str, problem: str, sample: dict[str, Any]) -> str:
    if problem == "method":
        head, _, last = path.rpartition(".")
        return (f"“{path}”会被当作字典自带的方法而不是数据，请写成 {head}['{last}']。")
    near = nearest_variable(path, sample)
    if near:
        return f"占位符中的“{path}”不是已知变量，是不是要写 {{{{ {near} }}}}？请改正拼写。"
    known = "、".join(k for k in sample if not k.startswith("_"))
    return f"占位符中的“{path}”不是已知变量，请检查拼写（可用的顶层变量：{known}）。"


def nearest_variable(path: str, sample: dict[str, Any]) -> str:
    """``card.t.expert`` → ``card.t.experts``: the known name closest to a misspelt one ('' if none)."""
    keys = [k for k in re.split(r"\.|\[['\"]?|['\"]?\]", path) if k]
    value: Any = sample
    for i, key in enumerate(keys):
        if not isinstance(value, dict):
            return ""
        if key not in value:
            close = difflib.get_close_matches(key, [str(k) for k in value], n=1, cutoff=0.6)
            return ".".join([*keys[:i], close[0], *keys[i + 1:]]) if close else ""
        value = value[key]
    return ""


def _bound_names(ast: nodes.Template) -> set[str]:
    """Names a template binds itself: loop targets, {% set %}, macros and their arguments, imports."""
    from jinja2 import nodes

    bound: set[str] = {"loop", "self", "super", "caller", "varargs", "kwargs"}
    for node in ast.find_all((nodes.For, nodes.Assign, nodes.AssignBlock)):
        for target in node.target.find_all(nodes.Name) if not isinstance(node.target, nodes.Name) else [node.target]:
            bound.add(target.name)
    for node in ast.find_all(nodes.Macro):
        bound.add(node.name)
        bound.update(a.name for a in node.args)
    for node in ast.find_all(nodes.FromImport):
        bound.update(n[1] if isinstance(n, tuple) else n for n in node.names)
    for node in ast.find_all(nodes.Import):
        bound.add(node.target)
    return bound


def unknown_variables(ast: nodes.Template, sample: dict[str, Any]) -> list[tuple[int, str, str]]:
    """``[(lineno, "notice.t.bdy", "unknown" | "method"), …]`` for names the sample context lacks."""
    import jinja2
    from jinja2 import nodes

    bound = _bound_names(ast) | set(jinja2.Environment().globals)
    found: list[tuple[int, str, str]] = []

    def visit(node: nodes.Node) -> None:
        if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name):
            chain = _chain(node)
            if chain is not None:
                base, keys, rest = chain
                if base not in bound:
                    problem, shown = _resolve(sample, base, keys)
                    if problem:
                        found.append((node.lineno, shown, problem))
                for sub in rest:
                    visit(sub)
                return
        for child in node.iter_child_nodes():
            visit(child)

    visit(ast)
    return found


def _chain(node: nodes.Node) -> tuple[str, list[tuple[str | int, bool]], list[nodes.Node]] | None:
    """``notice.t["body"]`` → ("notice", [("t", attr), ("body", item)], non-constant sub-expressions)."""
    from jinja2 import nodes

    keys: list[tuple[str | int, bool]] = []
    rest: list[nodes.Node] = []
    while True:
        if isinstance(node, nodes.Name):
            return (node.name, keys, rest) if node.ctx == "load" else None
        if isinstance(node, nodes.Getattr):
            keys.insert(0, (node.attr, True))
            node = node.node
        elif isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
                keys.insert(0, (node.arg.value, False))
            else:  # a slice or computed index: check what comes before it only
                keys.clear()
                rest.append(node.arg)
            node = node.node
        else:
            return None


def _resolve(sample: dict[str, Any], base: str, keys: list[tuple[str | int, bool]]) -> tuple[str, str]:
    shown = base
    if base not in sample:
        return "unknown", shown
    value: Any = sample[base]
    for key, is_attr in keys:
        shown += f".{key}" if is_attr else f"[{key!r}]"
        if isinstance(value, dict):
            if is_attr and hasattr(value, str(key)):
                return ("method", shown) if key in value else ("", shown)  # .keys() and friends are fine
            if key not in value:
                return "unknown", shown
            value = value[key]
        elif isinstance(value, list | tuple):
            if isinstance(key, int) and -len(value) <= key < len(value):
                value = value[key]
            elif not (is_attr and hasattr(value, str(key))):
                return "unknown", shown
            else:
                return "", shown
        else:
            return ("", shown) if hasattr(value, str(key)) else ("unknown", shown)
    return "", shown
