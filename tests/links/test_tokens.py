"""Link tokens: unforgeable, expiring, scoped to one kind, company and object."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from fieldlink.links.tokens import make_token, read_token

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
SECRET = "s3cret"


def test_a_token_reads_back_its_company_and_object() -> None:
    token = make_token(SECRET, kind="i", company_id=3, object_id=42, now=NOW)
    claim = read_token(SECRET, token, kind="i", now=NOW)
    assert claim is not None and (claim.company_id, claim.object_id) == (3, 42)


def test_a_token_expires() -> None:
    token = make_token(SECRET, kind="s", company_id=1, object_id=1, now=NOW, ttl=timedelta(days=1))
    assert read_token(SECRET, token, kind="s", now=NOW + timedelta(hours=23)) is not None
    assert read_token(SECRET, token, kind="s", now=NOW + timedelta(days=1, seconds=1)) is None


def test_a_token_is_only_good_for_its_own_kind_and_secret() -> None:
    token = make_token(SECRET, kind="i", company_id=1, object_id=1, now=NOW)
    assert read_token(SECRET, token, kind="e", now=NOW) is None
    assert read_token("other", token, kind="i", now=NOW) is None


def test_changing_the_object_or_company_breaks_the_signature() -> None:
    import base64

    token = make_token(SECRET, kind="i", company_id=1, object_id=7, now=NOW)
    body, mac = token.split(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    forged = base64.urlsafe_b64encode(raw.replace(":1:7:", ":2:8:").encode()).decode()
    assert read_token(SECRET, f"{forged.rstrip('=')}.{mac}", kind="i", now=NOW) is None


@given(st.text(max_size=300))
def test_garbage_never_reads_and_never_raises(garbage: str) -> None:
    assert read_token(SECRET, garbage, kind="s", now=NOW) is None
