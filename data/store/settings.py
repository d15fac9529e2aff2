"""One typed settings object, read from the environment (ARCHITECTURE idea 4).

Deployment settings live here (DATABASE_URL...). Clinical protocol settings that a
director changes at run time (induction length N, dose limits...) live in the
store (see `data/clinic/protocol.py`); their defaults are `PROTOCOL_DEFAULTS` there.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "clinic.db"


class Settings(BaseSettings):
    """Deployment settings; each can be set by an environment variable of the same name."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        description="SQLAlchemy URL of the store. Default: a SQLite file data/clinic.db "
        "created on first use. PostgreSQL: postgresql+psycopg://user:pass@host/db",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000, description="How long a SQLite writer waits for the lock (ms)."
    )
    session_idle_minutes: int = Field(
        default=15, description="Sign a user out after this many idle minutes."
    )
    session_max_hours: int = Field(
        default=12, description="Absolute limit of one signed-in session (hours)."
    )
    session_secret: str = Field(
        default="", description="Key that signs the session cookie (HMAC-SHA256). Empty: a "
        "random key is generated once and kept beside the store (data/accounts/sessions.py "
        "`session_secret`). Set the same value on every app instance behind one store.",
    )
    draft_days: int = Field(
        default=7, description="Unsaved infusion drafts are deleted after this many days.",
    )
    lockout_failures: int = Field(
        default=5, description="Failed sign-ins before an account is locked for a while."
    )
    lockout_minutes: int = Field(default=15, description="How long a lockout lasts.")
    clinic_time_zone: str = Field(
        default="UTC", description="IANA time zone given to a new clinic (each clinic's own "
        "zone is a clinic setting); 'today' and the times shown are in the clinic's zone.",
    )
    app_base_url: str = Field(
        default="http://localhost:8501",
        description="The address patients and on-call staff reach the app at: patient "
        "links (/respond?token=...) and the Safety page link in on-call messages.",
    )
    smtp_host: str = Field(default="", description="SMTP server for e-mailed patient links "
                           "and on-call messages; empty: the app does not e-mail.")
    smtp_port: int = Field(default=25, description="SMTP port.")
    smtp_sender: str = Field(default="", description="The From address of the app's e-mail.")
    smtp_username: str = Field(default="", description="SMTP user, if the server needs one.")
    smtp_password: str = Field(default="", description="SMTP password, if the server needs one.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection "
                                "with STARTTLS before sending.")

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host and self.smtp_sender)



@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call `get_settings.cache_clear()`)."""
    return Settings()
