"""Every page string has a Spanish translation (issue 7: English and Spanish pages)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from fieldlink.pages import i18n

SRC = Path(i18n.__file__).resolve().parent.parent
METHOD_MAP = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def _page_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(SRC), METHOD_MAP, OPTIONS
    ):
        ids = message if isinstance(message, tuple) else (message,)
        for msgid in ids:
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_every_page_string_has_a_spanish_translation() -> None:
    strings = _page_strings()
    assert "Page not found" in strings  # the extractor sees templates and Python alike
    spanish = i18n.catalog("es")
    missing = [
        f"{where}: {msgid!r}" for msgid, where in sorted(strings.items()) if msgid not in spanish
    ]
    assert not missing, "add these to src/fieldlink/locale/es/LC_MESSAGES/<area>.po:\n" + "\n".join(
        missing
    )


def test_spanish_catalog_is_loaded_from_po_files() -> None:
    _ = i18n.gettext_for("es")
    assert _("Page not found") == "Página no encontrada"
    assert i18n.gettext_for("en")("Page not found") == "Page not found"
