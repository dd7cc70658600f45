import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML_SINKS = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new Function\b")


def test_page_scripts_never_write_html_or_eval():
    offenders = [f"{path.name}:{n}" for path in sorted((ROOT / "static").glob("*.js"))
                 for n, line in enumerate(path.read_text().splitlines(), 1) if HTML_SINKS.search(line)]
    assert offenders == []


def test_template_has_no_inline_script_or_handler():
    page = (ROOT / "templates" / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert re.findall(r"\son[a-z]+\s*=", page) == []


def test_page_loads_no_third_party_resource():
    page = (ROOT / "templates" / "index.html").read_text()
    assert re.findall(r"(?:src|href)=\"(?:https?:)?//", page) == []
