"""Opinion campaigns: an operator asks drivers one question for a while; drivers answer as often as they like."""

from datetime import datetime

from chalicelib.core.auth import Caller
from chalicelib.core.clock import iso
from chalicelib.core.dynamo import get_or_404, transaction
from chalicelib.core.errors import Conflict
from chalicelib.core.ids import new_id
from chalicelib.core.pagination import page_over
from chalicelib.core.schemas import PageQuery
from chalicelib.notices.models import Campaign, CampaignEntry
from chalicelib.notices.schemas import CampaignIn, EntryIn


def open_campaign(admin: Caller, campaign: CampaignIn, now: datetime) -> dict:
    """Open a campaign collecting drivers' answers to one question within a window."""
    record = Campaign(new_id("camp", now), title=campaign.title, question=campaign.question,
                      opens_at=campaign.opens_at, closes_at=campaign.closes_at, created_by=admin.sub, created_at=now)
    record.save()
    return view_campaign(record)


def add_entry(driver_id: str, campaign_id: str, entry: EntryIn, now: datetime) -> dict:
    """A driver answers a campaign while it is open (as often as they like)."""
    campaign = _campaign(campaign_id)
    if not campaign.opens_at <= now < campaign.closes_at:
        raise Conflict(f"the campaign is open from {iso(campaign.opens_at)} to {iso(campaign.closes_at)}")
    record = CampaignEntry(campaign_id, new_id("entry", now), driver_id=driver_id, text=entry.text, created_at=now)
    with transaction() as tx:
        tx.save(record)
        tx.update(Campaign(campaign_id), actions=[Campaign.entry_count.add(1)])
    return {"entry_id": record.entry_id, "campaign_id": campaign_id, "created_at": iso(now)}


def campaign_detail(campaign_id: str, page: PageQuery) -> dict:
    """The campaign, its entry count and one page of entries in the order they came."""
    campaign = _campaign(campaign_id)

    def entries(limit: int, last_key):
        return CampaignEntry.query(campaign_id, limit=limit, last_evaluated_key=last_key)

    items, cursor = page_over([entries], page.limit, page.cursor)
    return {**view_campaign(campaign), "entries": [
        {"entry_id": e.entry_id, "driver_id": e.driver_id, "text": e.text, "created_at": iso(e.created_at)}
        for e in items], "next": cursor}


def view_campaign(record: Campaign) -> dict:
    """A campaign as the API shows it."""
    return {"campaign_id": record.campaign_id, "title": record.title, "question": record.question,
            "opens_at": iso(record.opens_at), "closes_at": iso(record.closes_at),
            "entry_count": int(record.entry_count)}


def _campaign(campaign_id: str) -> Campaign:
    return get_or_404(Campaign, campaign_id, f"no campaign {campaign_id}")
