"""The status page for people: plain HTML that reads well on a phone, built from the public status."""

from html import escape

STATE_WORDS = {"operational": "All systems operational", "degraded": "Some systems are down",
               "major_outage": "Major outage"}
COLOURS = {"up": "#1a7f37", "down": "#cf222e"}


def render_status_page(status: dict) -> str:
    """HTML for the JSON of `GET /status`."""
    components = "".join(
        f'<li><span class="dot" style="background:{COLOURS.get(c["state"], "#999")}"></span>'
        f'{escape(c["name"])} <em>{escape(c["state"])}</em></li>' for c in status["components"])
    open_incidents = "".join(_incident(i) for i in status["open_incidents"]) or "<p>No open incidents.</p>"
    history = "".join(_incident(i) for i in status["recent_incidents"]) or "<p>No incidents in the last 90 days.</p>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>o2o-mobility status</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;line-height:1.4}}
ul{{list-style:none;padding:0}} li{{padding:.3rem 0}} .dot{{display:inline-block;width:.7rem;height:.7rem;
border-radius:50%;margin-right:.5rem}} .incident{{border-left:4px solid #cf222e;padding:.2rem .8rem;margin:.6rem 0}}
.resolved{{border-color:#999}}</style></head>
<body><h1>{escape(STATE_WORDS.get(status["status"], status["status"]))}</h1>
<p>Updated {escape(status["updated_at"])} (UTC)</p>
<h2>Components</h2><ul>{components}</ul>
<h2>Open incidents</h2>{open_incidents}
<h2>Last 90 days</h2>{history}
</body></html>"""


def _incident(incident: dict) -> str:
    ended = f' until {escape(incident["resolved_at"])}' if incident["resolved_at"] else " (ongoing)"
    hours = incident["duration_s"] / 3600
    css = "incident resolved" if incident["state"] == "resolved" else "incident"
    return (f'<div class="{css}"><strong>{escape(", ".join(incident["components"]))}</strong><br>'
            f'from {escape(incident["started_at"])}{ended}, {hours:.1f} h<br>{escape(incident["summary"])}</div>')
