"""The one door to notices, for routes and other domains: what operators and drivers do.

- notices: operators post or schedule them, the job publishes, the platform announces outages (`publishing`);
  drivers read the ones meant for them (`reading`);
- inquiries: drivers ask, operators answer each one (`inquiries`);
- feedback campaigns: operators ask one question, drivers answer (`campaigns`);
- quality follow-up: an education notice to a driver whose quality falls (`quality`).
"""

from chalicelib.notices.campaigns import add_entry, campaign_detail, open_campaign, view_campaign
from chalicelib.notices.inquiries import answer, ask, inquiry_for, list_inquiries, view_inquiry
from chalicelib.notices.publishing import announce_to_drivers, cadence, post_notice, publish_due, view_notice
from chalicelib.notices.quality import follow_up_quality
from chalicelib.notices.reading import list_notices, mark_read, notice_for

__all__ = [
    "add_entry",
    "announce_to_drivers",
    "answer",
    "ask",
    "cadence",
    "campaign_detail",
    "follow_up_quality",
    "inquiry_for",
    "list_inquiries",
    "list_notices",
    "mark_read",
    "notice_for",
    "open_campaign",
    "post_notice",
    "publish_due",
    "view_campaign",
    "view_inquiry",
    "view_notice",
]
