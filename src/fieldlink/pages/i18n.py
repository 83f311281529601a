"""Translations for pages: English source strings, Spanish catalog, chosen per request.

The catalogs are the ``.po`` files themselves (``src/fieldlink/locale/<lang>/LC_MESSAGES/*.po``,
one per area — pages.po, portal.po, office.po … — merged at load), read with Babel at first
use, so no compiled ``.mo`` file is kept in the repository.
Choice order: ``?lang=`` (the page's language toggle, remembered in a cookie), the cookie,
then the browser's ``Accept-Language``.
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "fl_lang"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalog_files(lang: str) -> list[Path]:
    return sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))


def catalog(lang: str) -> Catalog:
    """Every area's catalog for ``lang`` merged into one."""
    merged = Catalog(locale=lang)
    for path in catalog_files(lang):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=lang):
                if message.id and message.string and "fuzzy" not in message.flags:
                    merged.add(message.id, message.string)
    return merged


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    if lang == DEFAULT_LANGUAGE or not catalog_files(lang):
        return _gettext.NullTranslations()
    catalog_ = catalog(lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog_)
    buffer.seek(0)
    return Translations(buffer)


def gettext_for(lang: str) -> Callable[[str], str]:
    return translations(normalise(lang) or DEFAULT_LANGUAGE).gettext


def normalise(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    if not header:
        return None
    preferred: list[tuple[float, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            preferred.append((-quality + index * 1e-6, tag))
    tags = [tag.replace("-", "_") for _, tag in sorted(preferred) if tag != "*"]
    match = Locale.negotiate(tags, list(LANGUAGES), sep="_") if tags else None
    return normalise(str(match)) if match else None


def choose(request: Request) -> str:
    """The page language for ``request`` (see the module docstring for the order)."""
    return (
        normalise(request.query_params.get("lang"))
        or normalise(request.cookies.get(LANG_COOKIE))
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT_LANGUAGE
    )


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is defined; it is translated where shown."""
    return message
