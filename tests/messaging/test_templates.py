"""Default templates, sandboxed rendering, and refusal of broken or hostile templates."""

from __future__ import annotations

import pytest

from fieldlink.messaging.templates import (
    DEFAULTS,
    Renderer,
    TemplateInvalid,
    default_template,
    render,
    sample_variables,
)


@pytest.mark.parametrize(("touchpoint", "channel"), sorted(DEFAULTS))
@pytest.mark.parametrize("with_technician", [True, False])
def test_every_default_renders_with_and_without_the_technician(
    touchpoint: str, channel: str, with_technician: bool
) -> None:
    subject, body = DEFAULTS[(touchpoint, channel)]
    out = render(subject, body, sample_variables(with_technician=with_technician), channel=channel)
    assert "Acme Heating & Air" in (out.body + (out.subject or ""))
    assert "{{" not in out.body and "None" not in out.body
    if channel == "email":
        assert out.subject
    else:
        assert out.segments and out.segments >= 1 and out.encoding == "GSM-7"


def test_en_route_names_the_technician_or_only_the_company() -> None:
    subject, body = default_template("en_route", "sms") or (None, "")
    named = render(subject, body, sample_variables(with_technician=True), channel="sms")
    anonymous = render(subject, body, sample_variables(with_technician=False), channel="sms")
    assert "Tom Torres is on the way" in named.body and "9:40 AM" in named.body
    assert "Tom" not in anonymous.body and "Acme Heating & Air is on the way" in anonymous.body


def test_an_unknown_variable_is_refused_with_its_name() -> None:
    with pytest.raises(TemplateInvalid, match="custmer"):
        render(None, "Hi {{ custmer.name }}", sample_variables(), channel="sms")


def test_a_syntax_error_is_refused_with_its_line() -> None:
    with pytest.raises(TemplateInvalid, match=r"line 2"):
        render(None, "Hi\n{% if %}", sample_variables(), channel="sms")


HOSTILE = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ company.__class__ }}{{ cycler.__init__.__globals__ }}",
    "{% for i in range(100000) %}x{% endfor %}",
    "{% for a in range(999) %}{% for b in range(999) %}{% for c in range(999) %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{{ 'x' * 1000000000 }}",
    "{{ 10 ** 100000000 }}",
    "{% for a in range(999) %}{% for b in range(999) %}xxxxxxxx{% endfor %}{% endfor %}",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_templates_are_refused_quickly(hostile: str) -> None:
    with pytest.raises(TemplateInvalid):
        render(None, hostile, sample_variables(), channel="sms")


@pytest.mark.parametrize(("touchpoint", "channel"), sorted(DEFAULTS))
@pytest.mark.parametrize("with_technician", [True, False])
def test_a_bulk_renderer_says_what_a_single_render_says(
    touchpoint: str, channel: str, with_technician: bool
) -> None:
    subject, body = DEFAULTS[(touchpoint, channel)]
    variables = sample_variables(with_technician=with_technician)
    one = render(subject, body, variables, channel=channel)
    assert Renderer(subject, body, channel=channel).render(variables) == (one.subject, one.body)


@pytest.mark.parametrize(
    "source",
    [
        *HOSTILE,
        "Hi {{ custmer.name }}",
        "Hi\n{% if %}",
        "{{ technician.name }}",  # None without a technician: an error, not a blank
        "x" * 20_001,
    ],
)
def test_a_bulk_renderer_refuses_what_a_single_render_refuses(source: str) -> None:
    variables = sample_variables(with_technician=False)
    with pytest.raises(TemplateInvalid) as single:
        render("Subject", source, variables, channel="email")
    with pytest.raises(TemplateInvalid) as bulk:
        Renderer("Subject", source, channel="email").render(variables)
    assert str(bulk.value) == str(single.value)


def test_dict_variables_named_like_dict_methods_still_resolve_as_before() -> None:
    variables = {**sample_variables(), "job": {"items": "3 filters", "id": 7}}
    source = "{{ job.id }} {{ job.items is callable }}"
    assert render(None, source, variables, channel="sms").body == "7 True"
    assert Renderer(None, source, channel="sms").render(variables) == (None, "7 True")


@pytest.mark.parametrize("channel", ["sms", "email"])
def test_a_bulk_renderer_reusing_texts_still_personalises_each_one(channel: str) -> None:
    """A bulk Renderer gives an earlier text again when the variables the template names
    are the very same objects; anything else is rendered afresh."""
    subject, body = DEFAULTS[("service_reminder", channel)]
    shared = sample_variables()
    renderer = Renderer(subject, body, channel=channel)
    people = ["Ann Lee", "Bo Diaz", "Ann Lee", "Cy Park"]
    variables = [{**shared, "contact": {"name": n, "first_name": n.split()[0]}} for n in people]
    variables.append({**shared, "company": {**shared["company"], "name": "Other Co"}})
    for v in variables * 2:
        one = render(subject, body, v, channel=channel)
        assert renderer.render(v) == (one.subject, one.body)
    if channel == "email":
        assert len({renderer.render(v)[1] for v in variables}) == 4  # Ann twice, Other Co
    else:  # a reminder text names no contact: one text per company
        assert len({renderer.render(v)[1] for v in variables}) == 2
