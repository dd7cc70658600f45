import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML_SINKS = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new Function\b"
                        r"|createContextualFragment|\.srcdoc\b|setHTMLUnsafe|DOMParser")


def page_scripts() -> list[Path]:
    scripts = sorted((ROOT / "static").rglob("*.js"))
    assert len(scripts) > 10, f"expected the page's modules under static/, found {len(scripts)}"
    return scripts


def test_page_scripts_never_write_html_or_eval():
    """User text and server strings reach the page only through textContent / text nodes."""
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in page_scripts()
                 for n, line in enumerate(path.read_text().splitlines(), 1) if HTML_SINKS.search(line)]
    assert offenders == []


def test_page_scripts_never_build_elements_from_strings():
    # setAttribute("on...") or a string handed to setTimeout would run text as code
    sinks = re.compile(r"""setAttribute\(\s*["']on|setTimeout\(\s*["'`]|setInterval\(\s*["'`]|\.src\s*=|\.href\s*=\s*["'`]javascript""")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in page_scripts()
                 for n, line in enumerate(path.read_text().splitlines(), 1) if sinks.search(line)]
    assert offenders == []


def test_template_has_no_inline_script_or_handler():
    page = (ROOT / "templates" / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert re.findall(r"\son[a-z]+\s*=", page) == []


def test_page_loads_no_third_party_resource():
    page = (ROOT / "templates" / "index.html").read_text()
    assert re.findall(r"(?:src|href)=\"(?:https?:)?//", page) == []
