"""Settings read from the environment, lazily.

Chalice sets a stage's environment variables only while a handler runs, so nothing here
reads the environment at import time: call `get_settings()` inside a handler. Each field is
read from the upper-cased variable of the same name (`audit_table` <- `AUDIT_TABLE`).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    stage: str = "local"
    auth_issuer: str = "https://auth.o2o.local"
    auth_audience: str = "o2o-mobility"
    auth_jwks_url: str | None = None
    auth_jwks_file: str | None = None
    auth_leeway_s: int = 30
    cursor_secret: str = ""  # seals list cursors; Secrets Manager in AWS, a fixed key locally

    audit_table: str = "AuditTable"
    idempotency_table: str = "IdempotencyTable"
    drivers_table: str = "DriversTable"
    driver_spots_table: str = "DriverSpotsTable"
    rides_table: str = "RidesTable"
    earnings_table: str = "EarningsTable"
    complaints_table: str = "ComplaintsTable"
    notices_table: str = "NoticesTable"
    notice_reads_table: str = "NoticeReadsTable"
    inquiries_table: str = "InquiriesTable"
    campaigns_table: str = "CampaignsTable"
    campaign_entries_table: str = "CampaignEntriesTable"
    ride_tallies_table: str = "RideTalliesTable"
    components_table: str = "ComponentsTable"
    component_checks_table: str = "ComponentChecksTable"
    incidents_table: str = "IncidentsTable"
    driver_sessions_table: str = "DriverSessionsTable"
    dispatch_decisions_table: str = "DispatchDecisionsTable"
    fairness_tallies_table: str = "FairnessTalliesTable"
    programs_table: str = "ProgramsTable"
    program_tallies_table: str = "ProgramTalliesTable"
    claims_table: str = "ClaimsTable"
    voucher_grants_table: str = "VoucherGrantsTable"
    payout_rounds_table: str = "PayoutRoundsTable"
    payout_chunks_table: str = "PayoutChunksTable"
    ledger_table: str = "LedgerTable"
    wallets_table: str = "WalletsTable"
    transfers_table: str = "TransfersTable"
    quotas_table: str = "QuotasTable"
    connections_table: str = "ConnectionsTable"
    transfer_provider: str = "local"
    work_queue_url: str = ""
    work_dlq_url: str = ""
    notifications_topic_arn: str = ""
    websocket_url: str = ""  # where clients connect for real-time messages (GET /health)

    offer_timeout_s: int = 15
    search_window_s: int = 180

    quality_min_rating: str = "4.0"
    quality_min_ratings: int = 5
    quality_max_complaints: int = 3
    quality_period_days: int = 30

    probe_timeout_s: int = 5
    ride_error_window_min: int = 5
    ride_error_min_volume: int = 20
    ride_error_max_share: str = "0.5"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        """Settings from `environ`; a variable that is absent or empty keeps the default."""
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = environ.get(field.name.upper())
            if raw:
                values[field.name] = int(raw) if field.type is int else raw
        return cls(**values)

    @property
    def is_local(self) -> bool:
        """True on the developer's machine, where plain-http probe targets are allowed."""
        return self.stage == "local"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process; tests call `get_settings.cache_clear()` after changing env."""
    return Settings.from_environment()
