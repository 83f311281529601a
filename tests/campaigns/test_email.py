"""Marketing email: footer, RFC 8058 one-click unsubscribe, tracking, double opt-in,
dormant addresses."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from fieldlink.campaigns.models import CampaignEvent
from fieldlink.consent.models import ConsentEvent, Suppression
from fieldlink.customers.models import Customer, CustomerTag
from fieldlink.messaging.models import Message
from fieldlink.outbox.worker import Worker
from tests.campaigns.conftest import Shop
from tests.campaigns.helpers import add_customer


def send_one(shop: Shop, **fields: object) -> tuple[dict[str, object], object]:
    campaign = shop.campaign(
        template="Hi {{ contact.first_name }}, see https://acme.example/spring", **fields
    )
    assert shop.api.post(f"/v1/campaigns/{campaign['id']}/send").status_code == 202
    shop.run_worker()
    [email] = shop.mail.sent
    return campaign, email


def unsubscribe_path(email: object) -> str:
    header = email.headers["List-Unsubscribe"]  # type: ignore[attr-defined]
    url = header.strip("<>")
    assert url.startswith("http://testserver/u/")
    return url.removeprefix("http://testserver")


def test_marketing_email_has_sender_postal_address_and_unsubscribe_link(shop: Shop) -> None:
    # CAN-SPAM 15 U.S.C. §7704(a)(3) and (a)(5): a working opt-out and the sender's postal
    # address in every commercial email; one sender identity per company.
    add_customer(shop, "Maria Lopez", "maria@example.com")
    _, email = send_one(shop)
    assert email.from_email == "offers@acme.example"  # type: ignore[attr-defined]
    assert email.from_name == "Acme Heating & Air"  # type: ignore[attr-defined]
    path = unsubscribe_path(email)
    for part in (email.text, email.html):  # type: ignore[attr-defined]
        assert "120 Oak St, Raleigh, NC 27601" in part
        assert f"http://testserver{path}" in part


def test_one_click_unsubscribe_headers_and_post_per_rfc_8058(
    shop: Shop, client: TestClient
) -> None:
    # RFC 8058 §3.1: List-Unsubscribe with an https(-style) URI and List-Unsubscribe-Post:
    # List-Unsubscribe=One-Click; the POST carries no cookies and unsubscribes at once.
    customer, _ = add_customer(shop, "Maria Lopez", "maria@example.com")
    campaign, email = send_one(shop)
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # type: ignore[attr-defined]
    path = unsubscribe_path(email)
    r = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and "unsubscribed" in r.text
    shop.session.expire_all()
    assert shop.session.get(Customer, customer.id).do_not_send_promotional_emails  # type: ignore[union-attr]
    row = shop.session.scalar(select(Suppression).where(Suppression.email == "maria@example.com"))
    assert row is not None and row.reason == "unsubscribed"
    evidence = shop.session.scalar(
        select(ConsentEvent.wording).where(ConsentEvent.field == "suppression")
    )
    assert evidence is not None and "one-click" in evidence
    # A repeat changes nothing and the report counts the unsubscribe once.
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    report = shop.api.get(f"/v1/campaigns/{campaign['id']}/report").json()
    assert report["unsubscribes"] == 1


def test_the_unsubscribe_page_get_changes_nothing_and_post_unsubscribes(
    shop: Shop, client: TestClient
) -> None:
    # DESIGN.md / RFC 8058 §4: a GET (mail scanners prefetch links) must not unsubscribe.
    add_customer(shop, "Maria Lopez", "maria@example.com")
    _, email = send_one(shop)
    path = unsubscribe_path(email)
    page = client.get(path)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert "maria@example.com" in page.text
    assert shop.session.scalar(select(Suppression)) is None
    assert client.post(path).status_code == 200  # the page's button: an empty form
    shop.session.expire_all()
    assert shop.session.scalar(select(Suppression.email)) == "maria@example.com"
    assert (
        "You&#39;re unsubscribed" in client.get(path).text
        or "unsubscribed" in client.get(path).text
    )


def test_a_forged_or_foreign_unsubscribe_link_is_a_friendly_404(
    shop: Shop, client: TestClient
) -> None:
    add_customer(shop, "Maria Lopez", "maria@example.com")
    _, email = send_one(shop)
    path = unsubscribe_path(email)
    for bad in (path[:-3] + "xyz", "/u/nonsense", "/u/" + "a" * 300):
        r = client.post(bad)
        assert r.status_code == 404 and "doesn" in r.text
    assert shop.session.scalar(select(Suppression)) is None


def test_opens_and_clicks_are_tracked_through_our_pixel_and_redirect(
    shop: Shop, client: TestClient
) -> None:
    add_customer(shop, "Maria Lopez", "maria@example.com")
    campaign, email = send_one(shop)
    html = email.html  # type: ignore[attr-defined]
    pixel = re.search(r'<img src="http://testserver(/t/o/[^"]+)"', html)
    click = re.search(r'href="http://testserver(/t/c/[^"]+)"', html)
    assert pixel and click
    assert "https://acme.example/spring" not in re.findall(r'href="([^"]+)"', html)
    r = client.get(pixel.group(1))
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif"
    r = client.get(click.group(1).replace("&amp;", "&"), follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "https://acme.example/spring"
    # A changed target is refused: the redirect is no open redirect.
    evil = click.group(1).replace("&amp;", "&").replace("acme.example", "evil.example")
    assert client.get(evil, follow_redirects=False).status_code == 404
    report = shop.api.get(f"/v1/campaigns/{campaign['id']}/report").json()
    assert (report["opens"], report["clicks"]) == (1, 1)


def test_tracking_can_be_switched_off(shop: Shop) -> None:
    add_customer(shop, "Maria Lopez", "maria@example.com")
    shop.api.patch("/v1/company", json={"settings": {"email_tracking": False}})
    _, email = send_one(shop)
    html = email.html  # type: ignore[attr-defined]
    assert "/t/o/" not in html and "/t/c/" not in html
    assert 'href="https://acme.example/spring"' in html


def test_double_opt_in_email_link_adds_the_opted_in_tag(shop: Shop, client: TestClient) -> None:
    customer, _ = add_customer(shop, "Maria Lopez", "maria@example.com")
    shop.api.patch("/v1/company", json={"settings": {"double_opt_in": True}})
    campaign = shop.campaign()
    preview = shop.api.post(f"/v1/campaigns/{campaign['id']}/preview").json()
    assert preview["eligible"] == 0 and preview["blocked"]["missing_opted_in_tag"] == 1
    r = shop.api.post(f"/v1/customers/{customer.id}/email-opt-in")
    assert r.status_code == 202, r.text
    shop.run_worker()
    [confirmation] = shop.mail.sent
    assert "List-Unsubscribe" not in confirmation.headers
    link = re.search(r"http://testserver(/o/\S+)", confirmation.text)
    assert link
    assert client.get(link.group(1)).status_code == 200
    assert shop.session.scalar(select(CustomerTag)) is None  # GET changes nothing
    assert client.post(link.group(1)).status_code == 200
    shop.session.expire_all()
    assert shop.session.scalar(select(CustomerTag.tag)) == "Opted In"
    preview = shop.api.post(f"/v1/campaigns/{campaign['id']}/preview").json()
    assert preview["eligible"] == 1


def test_no_opt_in_request_to_an_unsubscribed_address(shop: Shop, rival_api: TestClient) -> None:
    customer, _ = add_customer(shop, "Maria Lopez", "maria@example.com")
    shop.api.post("/v1/suppressions", json={"email": "maria@example.com", "reason": "unsubscribed"})
    r = shop.api.post(f"/v1/customers/{customer.id}/email-opt-in")
    assert r.status_code == 409 and r.json()["code"] == "email_unsubscribed"
    assert rival_api.post(f"/v1/customers/{customer.id}/email-opt-in").status_code == 404


def test_dormant_addresses_are_tagged_and_skipped_opens_wake_them(
    shop: Shop, client: TestClient
) -> None:
    maria, _ = add_customer(shop, "Maria Lopez", "maria@example.com")
    sam, _ = add_customer(shop, "Sam Doe", "sam@example.com")
    shop.api.patch(
        "/v1/company",
        json={"settings": {"dormant_email_suppression": True, "dormant_email_days": 30}},
    )
    first = shop.campaign()
    shop.api.post(f"/v1/campaigns/{first['id']}/send")
    shop.run_worker()
    assert len(shop.mail.sent) == 2
    # Both were mailed 40 days ago; only Maria opened it since.
    s = shop.session
    for m in s.scalars(select(Message).where(Message.touchpoint == "campaign")):
        m.sent_at = datetime.now(UTC) - timedelta(days=40)
    maria_msg = s.scalar(select(Message).where(Message.to == "maria@example.com"))
    assert maria_msg is not None
    s.add(
        CampaignEvent(
            company_id=shop.company.id,
            campaign_id=first["id"],
            message_id=maria_msg.id,
            customer_id=maria.id,
            kind="open",
            at=datetime.now(UTC) - timedelta(days=2),
        )
    )
    s.commit()
    shop.mail.sent.clear()
    second = shop.campaign(name="Second")
    shop.api.post(f"/v1/campaigns/{second['id']}/send")
    # The first campaign still counts as sending: the second starts after its last slot.
    later = Worker(shop.worker.factory, clock=lambda: datetime.now(UTC) + timedelta(minutes=2))
    while later.run_once():
        pass
    assert [e.to for e in shop.mail.sent] == ["maria@example.com"]
    tags = s.scalars(select(CustomerTag.customer_id).where(CustomerTag.tag == "Email Dormant"))
    assert list(tags) == [sam.id]
    report = shop.api.get(f"/v1/campaigns/{second['id']}/report").json()
    assert report["suppressed"] == {"email_dormant": 1}


def test_the_unsubscribe_page_speaks_the_customers_language_in_the_company_brand(
    shop: Shop, client: TestClient
) -> None:
    add_customer(shop, "Maria Lopez", "maria@example.com")
    _, email = send_one(shop)
    page = client.get(unsubscribe_path(email), headers={"Accept-Language": "es-MX,es;q=0.9"})
    assert page.status_code == 200
    assert "¿Darse de baja de los correos de marketing?" in page.text
    assert '<html lang="es">' in page.text
    assert shop.company.name.replace("&", "&amp;") in page.text
    # A signed link in the URL: never leaked in a Referer, never cached, never framed.
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
