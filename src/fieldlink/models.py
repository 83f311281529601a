"""Import every domain's models so metadata (and Alembic) sees the whole schema."""

from fieldlink.accounts import models as accounts
from fieldlink.campaigns import models as campaigns
from fieldlink.consent import models as consent
from fieldlink.customers import models as customers
from fieldlink.db import Base
from fieldlink.jobs import models as jobs
from fieldlink.links import models as links
from fieldlink.messaging import models as messaging
from fieldlink.office import models as office
from fieldlink.ops import models as ops
from fieldlink.outbox import models as outbox
from fieldlink.portal import models as portal
from fieldlink.sms import models as sms

__all__ = [
    "Base",
    "accounts",
    "campaigns",
    "consent",
    "customers",
    "jobs",
    "links",
    "messaging",
    "office",
    "ops",
    "outbox",
    "portal",
    "sms",
]
