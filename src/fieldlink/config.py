"""Settings, read once from the environment (prefix ``FIELDLINK_``) and validated at start."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIELDLINK_", extra="ignore")

    database_url: str = "sqlite:///fieldlink.db"
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    base_url: str = "http://127.0.0.1:8000"
    sms_provider: Literal["log", "twilio"] = "log"
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr("")
    twilio_api_url: str = "https://api.twilio.com"
    email_provider: Literal["log", "smtp"] = "log"
    smtp_url: str = ""
    email_webhook_secret: SecretStr = SecretStr("")
    payment_provider: Literal["test", "stripe"] = "test"
    stripe_secret_key: SecretStr = SecretStr("")
    stripe_publishable_key: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Peers whose X-Forwarded-For / -Proto are believed (comma-separated IPs or CIDRs, or
    # "*"): the reverse proxy. Client IPs then come from the header, so per-IP throttles
    # (portal and office sign-in) count each customer, not the proxy.
    trusted_proxies: str = "127.0.0.1"
    message_retention_days: int = 365
    outbox_retention_days: int = 7
    worker_visibility_timeout: float = 60.0
    # Jobs a worker claims at once. 100 costs ~40% less worker CPU and half the database
    # CPU per text of 20 (benchmarks/README.md, fourth session). A batch outliving its claim
    # is safe: no text is begun in the claim's last third (Worker._may_start).
    worker_batch_size: int = 100
    # Customer portal uploads: kept outside the web root, served only to their owner.
    upload_dir: str = "fieldlink-uploads"
    upload_max_bytes: int = 10 * 1024 * 1024

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver-less spelling the operator gave."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
