"""The status as an Atom feed (RFC 4287): one entry per incident of the last 90 days and one per update,
newest first, from the same snapshot as the page."""

from string import Template

from chalicelib.core.pages import html, joined, kst
from chalicelib.outages.status_page import WORDS

FEED = Template("""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="$lang">
<id>urn:o2o-mobility:status</id>
<title>$title</title>
<updated>$updated</updated>
<author><name>o2o-mobility</name></author>
<link rel="self" type="application/atom+xml" href="$base/status/feed.atom?lang=$lang"/>
<link rel="alternate" type="text/html" href="$base/status.html?lang=$lang"/>
$entries</feed>
""")

ENTRY = Template("""<entry>
<id>$id</id>
<title>$title</title>
<published>$published</published>
<updated>$updated</updated>
<link rel="alternate" type="text/html" href="$base/status.html?lang=$lang#past-$incident_id"/>
<content type="text">$content</content>
</entry>
""")


def render_feed(status: dict, base_url: str, lang: str = "ko") -> str:
    """Atom XML for the JSON of `GET /status`; links are absolute under `base_url`."""
    words = WORDS[lang]
    entries = []
    for incident in status.get("history", []):
        entries.append(_incident_entry(incident, words, lang))
        entries.extend(_update_entry(incident, n, update, words, lang)
                       for n, update in enumerate(incident.get("updates", []), 1))
    entries.sort(key=lambda e: e["updated"], reverse=True)
    updated = max([e["updated"] for e in entries] + [status["updated_at"]])
    return html(FEED, lang=lang, title=words["title"], updated=updated, base=base_url,
                entries=joined(html(ENTRY, base=base_url, lang=lang, **e) for e in entries))


def _incident_entry(incident: dict, words: dict, lang: str) -> dict:
    state = words["ongoing" if incident["state"] == "open" else "resolved_state"]
    ended = f' · {words["ended"]} {kst(incident["resolved_at"], lang)}' if incident["resolved_at"] else ""
    last = max([u["at"] for u in incident.get("updates", [])] + [incident["detected_at"]])
    return {"id": f'urn:o2o-mobility:incident:{incident["incident_id"]}', "incident_id": incident["incident_id"],
            "title": f'[{state}] {", ".join(incident["components"])}: {incident["summary"]}',
            "published": incident["detected_at"], "updated": last,
            "content": f'{words["started"]} {kst(incident["started_at"], lang)}{ended}. {incident["summary"]}'}


def _update_entry(incident: dict, number: int, update: dict, words: dict, lang: str) -> dict:
    message = update["message"] or words.get(f'auto_{update["status"]}', "")
    return {"id": f'urn:o2o-mobility:incident:{incident["incident_id"]}:update:{number}',
            "incident_id": incident["incident_id"],
            "title": f'{words[update["status"]]}: {", ".join(incident["components"])}',
            "published": update["at"], "updated": update["at"],
            "content": f'{kst(update["at"], lang)} · {message}'}
