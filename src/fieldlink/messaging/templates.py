"""Message templates: defaults per touchpoint × channel, rendered in a Jinja2 sandbox.

Rules are pure: callers pass the variables (see ``VARIABLES``) and get text back. A
template that fails to render with the sample data is refused when saved, not at send.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, get_args

from jinja2 import StrictUndefined, Template, TemplateError, meta
from jinja2.runtime import new_context
from jinja2.sandbox import SandboxedEnvironment

from fieldlink.messaging.segments import count_segments

# Every kind of message (the API's `touchpoint`); a new one needs a default template below.
Touchpoint = Literal[
    "service_reminder",
    "appointment_confirmation",
    "en_route",
    "status_update",
    "service_link",
    "work_acknowledgement",
    "estimate",
    "invoice",
    "review_request",
    "opt_in_request",
    "inbound_forward",
    "campaign",
    "conversation_reply",
    "keyword_reply",
    "portal_service_request",
    "payment_receipt",
    "estimate_decision",
    "reschedule_request",
    "staff_password_reset",
    "staff_invite",
    "portal_account_request",
]
TOUCHPOINTS: tuple[str, ...] = get_args(Touchpoint)
CHANNELS = ("sms", "email")
MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000

# The documented variable set (shown in the template editor and the API docs).
VARIABLES: dict[str, str] = {
    "company.name": "Company name",
    "company.phone": "Business phone",
    "company.website": "Company website",
    "company.logo_url": "Logo URL",
    "customer.name": "Customer (account) name",
    "contact.name": "Contact's name",
    "contact.first_name": "Contact's first name",
    "location.address": "Service address, one line",
    "job.id": "Job number",
    "job.job_type": "Job type",
    "job.po_number": "PO number",
    "appointment.date": "Appointment date, e.g. Tuesday, March 3",
    "appointment.window": "Arrival window, e.g. 8:00 AM - 10:00 AM",
    "technician.name": "Technician's name (absent when the company shows itself only)",
    "technician.photo_url": "Technician's photo URL",
    "technician.certifications": "Technician's certifications, e.g. NATE-certified",
    "eta": "Estimated arrival time, e.g. 9:40 AM",
    "status.name": "Status code name",
    "link": "The touchpoint's link (service link, invoice, estimate, reschedule, review)",
    "reschedule_link": "Reschedule or cancel link",
    "amount": "Amount due or estimated",
    "message": "The inbound text (inbound_forward) or the customer's request "
    "(portal_service_request)",
}

_WHO = "{{ technician.name if technician else company.name }}"
DEFAULTS: dict[tuple[str, str], tuple[str | None, str]] = {
    ("service_reminder", "sms"): (
        None,
        "{{ company.name }}: reminder of your {{ job.job_type or 'service' }} visit on "
        "{{ appointment.date }}, {{ appointment.window }}. Need a change? {{ reschedule_link }}",
    ),
    ("service_reminder", "email"): (
        "Reminder: your {{ company.name }} visit on {{ appointment.date }}",
        "Hi {{ contact.first_name }},\n\nThis is a reminder of your "
        "{{ job.job_type or 'service' }} visit at {{ location.address }} on "
        "{{ appointment.date }}, arriving {{ appointment.window }}.\n\n"
        "Need to reschedule or cancel? {{ reschedule_link }}\n\n{{ company.name }}"
        "{% if company.phone %}\n{{ company.phone }}{% endif %}",
    ),
    ("appointment_confirmation", "sms"): (
        None,
        "{{ company.name }}: your visit is booked for {{ appointment.date }}, "
        "{{ appointment.window }}. Reschedule: {{ reschedule_link }}",
    ),
    ("appointment_confirmation", "email"): (
        "Confirmed: {{ company.name }} on {{ appointment.date }}",
        "Hi {{ contact.first_name }},\n\nYour {{ job.job_type or 'service' }} visit at "
        "{{ location.address }} is booked for {{ appointment.date }}, arriving "
        "{{ appointment.window }}.\n\nNeed another time? {{ reschedule_link }}\n\n"
        "{{ company.name }}",
    ),
    ("en_route", "sms"): (
        None,
        "{{ company.name }}: " + _WHO + " is on the way{% if eta %}, arriving about "
        "{{ eta }}{% endif %}.",
    ),
    ("en_route", "email"): (
        _WHO + " is on the way",
        "Hi {{ contact.first_name }},\n\n" + _WHO + "{% if technician and "
        "technician.certifications %} ({{ technician.certifications }}){% endif %} from "
        "{{ company.name }} is on the way to {{ location.address }}"
        "{% if eta %} and should arrive about {{ eta }}{% endif %}.\n\n{{ company.name }}",
    ),
    ("status_update", "sms"): (None, "{{ company.name }}: your visit is now {{ status.name }}."),
    ("status_update", "email"): (
        "{{ company.name }}: {{ status.name }}",
        "Hi {{ contact.first_name }},\n\nYour visit at {{ location.address }} is now "
        "{{ status.name }}.\n\n{{ company.name }}",
    ),
    ("service_link", "sms"): (
        None,
        "{{ company.name }}: the summary of your visit is ready: {{ link }}",
    ),
    ("service_link", "email"): (
        "Your {{ company.name }} visit summary",
        "Hi {{ contact.first_name }},\n\nThe summary of your visit, with photos and "
        "documents, is here: {{ link }}\n\n{{ company.name }}",
    ),
    ("work_acknowledgement", "sms"): (
        None,
        "{{ company.name }}: thank you for signing off the work. Your copy: {{ link }}",
    ),
    ("work_acknowledgement", "email"): (
        "Your signed work acknowledgement",
        "Hi {{ contact.first_name }},\n\nThank you for signing off the work. "
        "Your copy is here: {{ link }}\n\n{{ company.name }}",
    ),
    ("estimate", "sms"): (
        None,
        "{{ company.name }}: your estimate{% if amount %} ({{ amount }}){% endif %} is "
        "ready to view and approve: {{ link }}",
    ),
    ("estimate", "email"): (
        "Your estimate from {{ company.name }}",
        "Hi {{ contact.first_name }},\n\nYour estimate{% if amount %} for {{ amount }}"
        "{% endif %} is ready. View and approve it here: {{ link }}\n\n{{ company.name }}",
    ),
    ("invoice", "sms"): (
        None,
        "{{ company.name }}: your invoice{% if amount %} for {{ amount }}{% endif %} is "
        "ready. View and pay: {{ link }}",
    ),
    ("invoice", "email"): (
        "Your invoice from {{ company.name }}",
        "Hi {{ contact.first_name }},\n\nYour invoice{% if amount %} for {{ amount }}"
        "{% endif %} is ready. View and pay online: {{ link }}\n\n{{ company.name }}"
        "{% if company.website %}\n{{ company.website }}{% endif %}",
    ),
    ("review_request", "sms"): (
        None,
        "{{ company.name }}: thanks for choosing us! How did we do? {{ link }}",
    ),
    ("review_request", "email"): (
        "How did {{ company.name }} do?",
        "Hi {{ contact.first_name }},\n\nThank you for choosing {{ company.name }}. "
        "Would you tell us how we did? {{ link }}\n\n{{ company.name }}",
    ),
    ("opt_in_request", "sms"): (
        None,
        "{{ company.name }}: reply YES to get offers and news by text. Msg&data rates may "
        "apply. Reply STOP to opt out.",
    ),
    ("payment_receipt", "email"): (
        "Receipt: your payment to {{ company.name }}",
        "Hi {{ contact.first_name }},\n\nWe received your payment of {{ amount }}. "
        "Thank you!\n\n{{ message }}\nYour invoice: {{ link }}\n\n{{ company.name }}"
        "{% if company.website %}\n{{ company.website }}{% endif %}",
    ),
    # Staff notices: the office hears what a customer did on a link.
    ("estimate_decision", "email"): (
        "{{ company.name }}: {{ customer.name }} {{ status.name }} an estimate",
        "{{ customer.name }} {{ status.name }} an estimate.\n\n{{ message }}",
    ),
    ("estimate_decision", "sms"): (
        None,
        "{{ company.name }}: {{ customer.name }} {{ status.name }} an estimate. {{ message }}",
    ),
    ("reschedule_request", "email"): (
        "{{ company.name }}: {{ customer.name }} asks to {{ status.name }} a visit",
        "{{ customer.name }} asks to {{ status.name }} the visit on {{ appointment.date }}, "
        "{{ appointment.window }} at {{ location.address }}.\n\n{{ message }}",
    ),
    ("reschedule_request", "sms"): (
        None,
        "{{ company.name }}: {{ customer.name }} asks to {{ status.name }} the visit on "
        "{{ appointment.date }}. {{ message }}",
    ),
    ("inbound_forward", "sms"): (
        None,
        "Text to {{ company.name }} from {{ contact.name }}: {{ message }} Reply: {{ link }}",
    ),
    ("inbound_forward", "email"): (
        "New text message from {{ contact.name }}",
        "{{ contact.name }} wrote to {{ company.name }}:\n\n{{ message }}\n\nReply: {{ link }}",
    ),
    # To a staff member (office/auth.py); the link is single-use and expires in 30 minutes.
    ("staff_password_reset", "email"): (
        "Reset your {{ company.name }} office password",
        "Hi {{ contact.first_name }},\n\nSomeone (we hope you) asked to reset your password "
        "for the {{ company.name }} office. Choose a new one within 30 minutes: {{ link }}\n\n"
        "If it was not you, ignore this email; your password stays as it is.",
    ),
    ("staff_invite", "email"): (
        "Your {{ company.name }} office account",
        "Hi {{ contact.first_name }},\n\n{{ company.name }} has made you an office account. "
        "Choose your password within 3 days: {{ link }}\n\n"
        "Then sign in with this email address.",
    ),
    # To the office (point of contact, else the lowest owner/admin) when a customer asks
    # for service in the portal; editable like any other template.
    ("portal_service_request", "email"): (
        "Service request from {{ customer.name }} (job {{ job.id }})",
        "{{ customer.name }} asked for service in the {{ company.name }} customer portal.\n\n"
        "Job: {{ job.id }}{% if job.job_type %} ({{ job.job_type }}){% endif %}\n"
        "Address: {{ location.address }}\n"
        "{% if appointment.date %}Preferred: {{ appointment.date }} {{ appointment.window }}\n"
        "{% endif %}\n{{ message }}\n\nThe job is waiting for a technician and a time.",
    ),
    ("portal_account_request", "email"): (
        "{{ company.name }} portal: {{ contact.name }} asks for a login",
        "{{ contact.name }} asked for a login to the {{ company.name }} customer portal.\n\n"
        "{{ message }}\n\nApprove it (linking it to the customer's account) or reject it "
        "with PATCH /v1/portal-accounts/{{ job.id }}.",
    ),
    ("portal_service_request", "sms"): (
        None,
        "{{ company.name }} portal request from {{ customer.name }}: "
        "{{ job.job_type or 'service' }} at "
        "{{ location.address }} (job {{ job.id }}).",
    ),
}


class TemplateInvalid(ValueError):
    """The template cannot be rendered; ``str()`` says where and why."""


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str
    segments: int | None = None
    encoding: str | None = None


MAX_RANGE = 1000
MAX_LOOP_DEPTH = 2
_DICT_NAMES = frozenset(dir(dict))


class _Env(SandboxedEnvironment):
    """Sandbox (no attribute escapes) with undefined variables as errors, not blanks, and
    bounds on the work a hostile template can ask for: small ranges, no huge products or
    powers, at most two nested loops, and output cut off past MAX_OUTPUT_CHARS."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.globals["range"] = _small_range

    def getattr(self, obj: Any, attribute: str) -> Any:
        # ``company.name`` on a plain dict: the base class first tries the attribute, which
        # raises and is caught for every variable of every message. A dict instance has no
        # attributes but its type's, so for any other name the item is what it would find.
        if type(obj) is dict and attribute not in _DICT_NAMES and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise TemplateInvalid("exponent too large")
            return left**right
        for seq, n in ((left, right), (right, left)):
            too_big = (
                isinstance(seq, str | list | tuple)
                and isinstance(n, int)
                and (len(seq) * n > MAX_OUTPUT_CHARS)
            )
            if too_big:
                raise TemplateInvalid("repetition too large")
        return left * right


def _small_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise TemplateInvalid(f"range larger than {MAX_RANGE}")
    return r


def _loop_depth(node: Any, depth: int = 0) -> int:
    from jinja2 import nodes

    here = depth + 1 if isinstance(node, nodes.For) else depth
    return max([here, *(_loop_depth(child, here) for child in node.iter_child_nodes())])


_ENV = _Env()


def default_template(touchpoint: str, channel: str) -> tuple[str | None, str] | None:
    return DEFAULTS.get((touchpoint, channel))


def render(subject: str | None, body: str, variables: dict[str, Any], *, channel: str) -> Rendered:
    """Render a template with ``variables``; raise TemplateInvalid on any error."""
    out_subject = _render_one(subject, variables, "subject") if subject is not None else None
    out_body = _render_one(body, variables, "body")
    if channel == "sms":
        count = count_segments(out_body)
        return Rendered(None, out_body, count.segments, count.encoding)
    return Rendered(" ".join((out_subject or "").split()), out_body)


@lru_cache(maxsize=512)
def _compile(source: str) -> Template:
    """Parse, bound-check and compile once per distinct source: compiling costs milliseconds,
    rendering microseconds, and the same few templates render for every message."""
    if _loop_depth(_ENV.parse(source)) > MAX_LOOP_DEPTH:
        raise TemplateInvalid(f"loops nested deeper than {MAX_LOOP_DEPTH}")
    return _ENV.from_string(source)


def _render_one(source: str, variables: dict[str, Any], part: str) -> str:
    if len(source) > MAX_TEMPLATE_CHARS:
        raise TemplateInvalid(f"{part}: longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        pieces: list[str] = []
        size = 0
        for piece in _compile(source).generate(**variables):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise TemplateInvalid(f"renders to more than {MAX_OUTPUT_CHARS} characters")
            pieces.append(piece)
        text = "".join(pieces)
    except TemplateInvalid as exc:
        message = str(exc)
        raise TemplateInvalid(
            message if message.startswith(part) else f"{part}: {message}"
        ) from None
    except TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise TemplateInvalid(f"{part}{where}: {exc.message or exc}") from exc
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        raise TemplateInvalid(f"{part}: {exc.__class__.__name__}: {exc}") from exc
    return text.strip()


class Renderer:
    """One template (subject and body) compiled once for many renders, as in a bulk send.

    ``render`` gives what :func:`render` gives (without the SMS segment count) at a fraction
    of the cost: a plain-dict Jinja context instead of one merged from a ``ChainMap`` per
    call. On any error it renders again through :func:`render`, so a failing template
    raises exactly the ``TemplateInvalid`` a single send would.

    A render depends only on the variables the template names: when those are the very
    same objects as in an earlier render (a bulk send shares the company, job and
    appointment variables among a visit's recipients, and a text names no contact), the
    earlier text is given again. Callers must not change variables between renders of one
    Renderer (a bulk send builds them all first).
    """

    def __init__(self, subject: str | None, body: str, *, channel: str) -> None:
        self.subject, self.body, self.channel = subject, body, channel
        self._parts: list[tuple[Template, dict[str, Any]]] | None
        try:
            sources = [body] if subject is None else [subject, body]
            compiled = []
            for source in sources:
                if len(source) > MAX_TEMPLATE_CHARS:
                    raise TemplateInvalid("too long")
                template = _compile(source)
                compiled.append((template, dict(template.globals)))
            self._parts = compiled
            self._names: tuple[str, ...] = _names_used(body, subject)
        except Exception:  # render() below names the error, as a single send does
            self._parts = None
        # id()s of the named values -> (those values, kept so the ids stay theirs; text)
        self._done: dict[tuple[int, ...], tuple[list[Any], tuple[str | None, str]]] = {}

    def render(self, variables: dict[str, Any]) -> tuple[str | None, str]:
        if self._parts is None:
            out = render(self.subject, self.body, variables, channel=self.channel)
            return out.subject, out.body
        values = [variables.get(name, _ABSENT) for name in self._names]
        key = tuple(map(id, values))
        done = self._done.get(key)
        if done is not None and all(map(operator.is_, done[0], values)):
            return done[1]
        texts = self._render(variables)
        self._done[key] = (values, texts)
        return texts

    def _render(self, variables: dict[str, Any]) -> tuple[str | None, str]:
        """A render from the compiled parts (``render`` sends uncompiled ones elsewhere)."""
        assert self._parts is not None
        try:
            texts = [_generate(t, g, variables) for t, g in self._parts]
        except Exception:  # the slow path raises the error a single send gives
            out = render(self.subject, self.body, variables, channel=self.channel)
            return out.subject, out.body
        body = texts[-1]
        if self.channel == "sms":
            return None, body
        subject = texts[0] if len(texts) == 2 else ""
        return " ".join(subject.split()), body


_ABSENT = object()


@lru_cache(maxsize=512)
def _names_used(body: str, subject: str | None) -> tuple[str, ...]:
    """The variables a template pair looks up (top-level names)."""
    names = meta.find_undeclared_variables(_ENV.parse(body))
    if subject is not None:
        names |= meta.find_undeclared_variables(_ENV.parse(subject))
    return tuple(sorted(names))


def _generate(template: Template, globals_: dict[str, Any], variables: dict[str, Any]) -> str:
    context = new_context(
        template.environment, template.name, template.blocks, variables, False, globals_
    )
    pieces: list[str] = []
    size = 0
    for piece in template.root_render_func(context):
        size += len(piece)
        if size > MAX_OUTPUT_CHARS:
            raise TemplateInvalid("too long")
        pieces.append(piece)
    return "".join(pieces).strip()


def sample_variables(
    *, company_name: str = "Acme Heating & Air", with_technician: bool = True
) -> dict[str, Any]:
    """Data for previews and for checking a template when it is saved."""
    return {
        "company": {
            "name": company_name,
            "phone": "(919) 555-0100",
            "website": "https://acme.example",
            "logo_url": "https://acme.example/logo.png",
        },
        "customer": {"name": "Maria Smith"},
        "contact": {"name": "Maria Smith", "first_name": "Maria"},
        "location": {"address": "120 Oak St, Raleigh, NC 27601"},
        "job": {"id": 1042, "job_type": "AC Tune-up", "po_number": "PO-77"},
        "appointment": {"date": "Tuesday, March 3", "window": "8:00 AM - 10:00 AM"},
        "technician": {
            "name": "Tom Torres",
            "photo_url": "https://acme.example/tom.jpg",
            "certifications": "NATE-certified",
        }
        if with_technician
        else None,
        "eta": "9:40 AM",
        "status": {"name": "Traveling"},
        "link": "https://engage.example/s/sample",
        "reschedule_link": "https://engage.example/r/sample",
        "amount": "$289.00",
        "message": "The gate code is 1234",
    }
