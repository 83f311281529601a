"""What every browser page shares: branded layout, language, CSRF and friendly errors.

Feature folders keep their own ``templates/<area>/…`` and call :func:`render`; nothing here
knows a feature. Page text goes through gettext (``_()``) so English and Spanish stay in step
(``tests/pages/test_catalog.py`` fails on a string with no Spanish translation).
"""

from fieldlink.pages.errors import PageError, is_page_request
from fieldlink.pages.render import render

__all__ = ["PageError", "is_page_request", "render"]
