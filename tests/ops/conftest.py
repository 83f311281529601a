"""The SMS shop (a company with a number, technicians and Maria's mobile) for data-rights tests."""

from tests.sms.conftest import shop  # noqa: F401  (fixture)
