"""Refresh the message catalogues: `python scripts/i18n.py` (then translate, then run it again).

Extracts Ruxue's strings, adds the Flask-AppBuilder strings that FAB's own zh catalogue
leaves untranslated and WTForms' validation messages (Flask-WTF looks them up in our
catalogue), keeps every existing translation, and compiles the .mo files.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("zh", "en")
KEYWORDS = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None}


def _package(name: str) -> Path:
    return Path(__import__(name).__file__).parent


def _extract(directory: Path, patterns) -> list[str]:
    found = extract_from_dir(str(directory), method_map=patterns, keywords=KEYWORDS)
    return [msg[2] for msg in found if isinstance(msg[2], str) and msg[2]]


def wanted_ids() -> list[str]:
    ours = _extract(ROOT / "app", [("**.py", "python"), ("**/templates/**.html", "jinja2")])
    fab_dir = _package("flask_appbuilder")
    fab_zh = read_po((fab_dir / "translations/zh/LC_MESSAGES/messages.po").open("rb"))
    translated = {m.id for m in fab_zh if m.id and m.string}
    fab = [i for i in _extract(fab_dir, [("**.py", "python"), ("**/templates/**.html", "jinja2")]) if i not in translated]
    wtf_po = read_po((_package("wtforms") / "locale/zh/LC_MESSAGES/wtforms.po").open("rb"))
    wtf = [m.id for m in wtf_po if isinstance(m.id, str) and m.id]
    return list(dict.fromkeys(ours + fab + wtf))


def seed_translation(msgid: str) -> str:
    """WTForms' own zh text, used only when ours has none yet."""
    wtf_po = read_po((_package("wtforms") / "locale/zh/LC_MESSAGES/wtforms.po").open("rb"))
    message = wtf_po.get(msgid)
    return message.string if message and isinstance(message.string, str) else ""


def refresh(check_only: bool = False) -> list[str]:
    problems = []
    ids = wanted_ids()
    for locale in LOCALES:
        po_path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
        old = read_po(po_path.open("rb")) if po_path.exists() else Catalog(locale=locale)
        catalog = Catalog(locale=locale, domain="messages", project="Ruxue", charset="utf-8", fuzzy=False)
        for msgid in ids:
            current = old.get(msgid)
            text = current.string if current and current.string else ""
            if locale == "zh" and not text:
                text = seed_translation(msgid)
                if not text:
                    problems.append(f"{locale}: untranslated {msgid!r}")
            catalog.add(msgid, text, flags=("python-format",) if "%(" in msgid else ())
        if not check_only:
            po_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("wb") as f:
                write_po(f, catalog, width=0)
            with po_path.with_suffix(".mo").open("wb") as f:
                write_mo(f, catalog)
    return problems


def copy_flask_admin_zh() -> None:
    """Flask-Admin (the storage browser) ships zh as zh_Hans_CN; Ruxue's locale is plain zh."""
    source = _package("flask_admin") / "translations/zh_Hans_CN/LC_MESSAGES/admin.po"
    catalog = read_po(source.open("rb"))
    target = ROOT / "translations/zh/LC_MESSAGES/admin.mo"
    with target.open("wb") as f:
        write_mo(f, catalog)


if __name__ == "__main__":
    copy_flask_admin_zh()
    missing = refresh()
    print("\n".join(missing) or "catalogues complete")
    sys.exit(1 if missing else 0)
