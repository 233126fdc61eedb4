"""The status page for people, from the public status: Korean by default (English on request), times in KST,
a 90-day uptime bar per component, open incidents first, then 90 days of history with every update.
Self-contained (no script, font or image from elsewhere: it must load while a CDN is down) and refreshed
by the browser every 60 s."""

from html import escape
from string import Template

from chalicelib.core.pages import Markup, duration, html, joined, kst, short_date

WORDS = {
    "ko": {"title": "o2o-mobility 서비스 상태", "operational": "모든 서비스가 정상입니다",
           "degraded": "일부 서비스에 장애가 있습니다", "major_outage": "대규모 장애가 발생했습니다",
           "updated": "마지막 확인", "refresh": "이 페이지는 60초마다 새로 고쳐집니다.",
           "components": "서비스별 상태", "uptime": "90일 가동률", "open": "진행 중인 장애",
           "no_open": "진행 중인 장애가 없습니다.", "history": "최근 90일 기록",
           "no_history": "최근 90일 동안 장애가 없었습니다.", "up": "정상", "down": "장애", "no_data": "기록 없음",
           "ongoing": "진행 중", "resolved_state": "해결됨", "started": "시작", "ended": "종료",
           "lasted": "지속 시간", "so_far": "경과", "days_ago": "90일 전", "today": "오늘",
           "down_days": "장애가 있던 날", "more_days": "외 {n}일", "feed": "Atom 피드",
           "investigating": "조사 중", "identified": "원인 확인", "monitoring": "모니터링 중", "resolved": "해결",
           "auto_investigating": "장애를 감지해 조사하고 있습니다.", "auto_resolved": "서비스가 복구되었습니다.",
           "affected": "영향받은 서비스", "legend": "막대 한 칸이 하루(KST)입니다", "other": "English"},
    "en": {"title": "o2o-mobility service status", "operational": "All systems operational",
           "degraded": "Some systems are down", "major_outage": "Major outage",
           "updated": "Last checked", "refresh": "This page refreshes itself every 60 seconds.",
           "components": "Components", "uptime": "90-day uptime", "open": "Open incidents",
           "no_open": "No open incidents.", "history": "The last 90 days",
           "no_history": "No incidents in the last 90 days.", "up": "Up", "down": "Down", "no_data": "No data",
           "ongoing": "Ongoing", "resolved_state": "Resolved", "started": "Started", "ended": "Ended",
           "lasted": "Lasted", "so_far": "So far", "days_ago": "90 days ago", "today": "Today",
           "down_days": "Days with downtime", "more_days": "and {n} more", "feed": "Atom feed",
           "investigating": "Investigating", "identified": "Identified", "monitoring": "Monitoring",
           "resolved": "Resolved", "auto_investigating": "We detected a problem and are looking into it.",
           "auto_resolved": "The service has recovered.", "affected": "Affected",
           "legend": "Each cell is one day (KST)", "other": "한국어"},
}
SYMBOLS = {"up": "✓", "down": "✕", "no_data": "·", "operational": "✓", "degraded": "!", "major_outage": "✕"}
DOWN_DAYS_LISTED = 5

PAGE = Template("""<!doctype html>
<html lang="$lang"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<link rel="icon" href="data:,">
<title>$title</title>
<link rel="alternate" type="application/atom+xml" title="$feed" href="/status/feed.atom?lang=$lang">
<style>
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Apple SD Gothic Neo","Malgun Gothic","NanumGothic",sans-serif;
 margin:0 auto;max-width:46rem;padding:1rem;line-height:1.5;color:#1f2328;overflow-wrap:anywhere}
header{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem;align-items:baseline}
nav a{margin-left:.8rem}
.banner{border-radius:.5rem;padding:.8rem 1rem;color:#fff;font-size:1.25rem;font-weight:600;margin:.5rem 0}
.banner.operational{background:#1a7f37}.banner.degraded{background:#9a6700}.banner.major_outage{background:#cf222e}
.muted{color:#59636e;font-size:.9rem}
.component{border:1px solid #d1d9e0;border-radius:.5rem;padding:.6rem .8rem;margin:.6rem 0}
.component h3{margin:0;font-size:1rem;display:flex;flex-wrap:wrap;justify-content:space-between;gap:.3rem}
.state.up{color:#1a7f37}.state.down{color:#cf222e}
.bar{display:grid;grid-template-columns:repeat(90,1fr);gap:1px;height:2rem;margin:.4rem 0 .1rem;align-items:end}
.day{display:block;height:100%;border-radius:1px}
.day.up{background:#2da44e}.day.down{background:#cf222e}.day.no_data{background:#d1d9e0;height:40%}
.ends{display:flex;justify-content:space-between}
.incident{border-left:4px solid #cf222e;padding:.3rem .8rem;margin:.8rem 0;background:#fff8f8}
.incident.resolved{border-color:#8c959f;background:#f6f8fa}
.incident h3{margin:.1rem 0;font-size:1rem}
.label{display:inline-block;border:1px solid currentColor;border-radius:1rem;padding:0 .5rem;font-size:.8rem;
 margin-right:.4rem}
ol.updates{list-style:none;padding:0;margin:.4rem 0}
ol.updates li{padding:.2rem 0;border-top:1px dashed #d1d9e0}
dl{display:grid;grid-template-columns:auto 1fr;gap:0 .8rem;margin:.3rem 0}dt{color:#59636e}dd{margin:0}
</style></head>
<body>
<header><strong>$title</strong><nav><a href="$other_href" hreflang="$other_lang">$other</a>
<a href="/status/feed.atom?lang=$lang">$feed</a></nav></header>
<p class="banner $status" role="status">$status_symbol $status_words</p>
<p class="muted">$updated_label: <time datetime="$updated_at">$updated</time>. $refresh</p>
<h2>$components_label</h2>
<p class="muted">$legend: ✓ $up_word · ✕ $down_word · $no_data_word</p>
$components
<h2>$open_label</h2>
$open_incidents
<h2>$history_label</h2>
$history
</body></html>
""")

COMPONENT = Template("""<section class="component" aria-label="$name">
<h3><span>$name</span><span class="state $state">$symbol $state_word</span></h3>
<div class="bar" role="img" aria-label="$bar_label">$cells</div>
<div class="ends muted"><span>$days_ago</span><span>$uptime_label $uptime%</span><span>$today</span></div>
$down_days
</section>""")

CELL = '<span class="day {state}" title="{label}"></span>'
CELL_STATES = {"up": "up", "down": "down", "no_data": "no_data"}  # a closed set: nothing else reaches the class

INCIDENT = Template("""<article class="incident $state" id="$anchor">
<h3><span class="label">$state_word</span>$components</h3>
<p>$summary</p>
<dl><dt>$started_label</dt><dd>$started</dd>$ended<dt>$lasted_label</dt><dd>$lasted</dd></dl>
<ol class="updates">$updates</ol>
</article>""")

UPDATE = Template('<li><time datetime="$at">$when</time> · <strong>$status</strong> · $message</li>')


def render_status_page(status: dict, lang: str = "ko") -> str:
    """HTML for the JSON of `GET /status`, in `lang` (ko or en)."""
    words = WORDS[lang]
    other = "en" if lang == "ko" else "ko"
    return html(
        PAGE, lang=lang, title=words["title"], feed=words["feed"], other=words["other"], other_lang=other,
        other_href=f"/status.html?lang={other}", status=status["status"], status_symbol=SYMBOLS[status["status"]],
        status_words=words[status["status"]], updated_label=words["updated"], updated_at=status["updated_at"],
        updated=kst(status["updated_at"], lang), refresh=words["refresh"], components_label=words["components"],
        legend=words["legend"], up_word=words["up"], down_word=words["down"], no_data_word=words["no_data"],
        components=joined(_component(c, words, lang) for c in status["components"]),
        open_label=words["open"], history_label=words["history"],
        open_incidents=_incidents(status["open_incidents"], "open", words, lang) or _note(words["no_open"]),
        history=_incidents(status.get("history", []), "past", words, lang) or _note(words["no_history"]))


def _note(text: str) -> Markup:
    return html(Template("<p>$text</p>"), text=text)


def _component(component: dict, words: dict, lang: str) -> Markup:
    days = component.get("uptime_days", [])
    cells = Markup("".join(CELL.format(state=CELL_STATES[d["state"]], label=escape(_day_label(d, words, lang)))
                           for d in days))  # 90 a component: a plain format, the label escaped
    down = [d for d in reversed(days) if d["state"] == "down"]
    uptime = f'{component.get("uptime_90d", 100.0):.2f}'
    bar_label = f'{words["uptime"]} {uptime}%, {words["down_days"]}: {len(down)}'
    return html(COMPONENT, name=component["name"], state=component["state"], symbol=SYMBOLS[component["state"]],
                state_word=words[component["state"]], bar_label=bar_label, cells=cells, days_ago=words["days_ago"],
                uptime_label=words["uptime"], uptime=uptime, today=words["today"],
                down_days=_down_days(down, words, lang))


def _day_label(day: dict, words: dict, lang: str) -> str:
    text = f'{short_date(day["date"], lang)}: {words[day["state"]]}'
    return f'{text} {duration(day["down_s"], lang)}' if day["down_s"] else text


def _down_days(down: list[dict], words: dict, lang: str) -> Markup:
    if not down:
        return Markup("")
    listed = ", ".join(f'{short_date(d["date"], lang)} ({duration(d["down_s"], lang)})'
                       for d in down[:DOWN_DAYS_LISTED])
    more = f' {words["more_days"].format(n=len(down) - DOWN_DAYS_LISTED)}' if len(down) > DOWN_DAYS_LISTED else ""
    return html(Template('<p class="muted">✕ $label: $listed$more</p>'), label=words["down_days"], listed=listed,
                more=more)


def _incidents(incidents: list[dict], where: str, words: dict, lang: str) -> Markup:
    return joined(_incident(i, where, words, lang) for i in incidents)


def _incident(incident: dict, where: str, words: dict, lang: str) -> Markup:
    is_open = incident["state"] == "open"
    ended = Markup("") if is_open else html(Template("<dt>$label</dt><dd>$at</dd>"), label=words["ended"],
                                             at=kst(incident["resolved_at"], lang))
    updates = joined(html(UPDATE, at=u["at"], when=kst(u["at"], lang, with_weekday=False), status=words[u["status"]],
                          message=u["message"] or words[f'auto_{u["status"]}'])
                     for u in incident.get("updates", []) if u["message"] or f'auto_{u["status"]}' in words)
    return html(INCIDENT, state=incident["state"], anchor=f'{where}-{incident["incident_id"]}',
                state_word=words["ongoing" if is_open else "resolved_state"],
                components=", ".join(incident["components"]), summary=incident["summary"],
                started_label=words["started"], started=kst(incident["started_at"], lang), ended=ended,
                lasted_label=words["so_far" if is_open else "lasted"], lasted=duration(incident["duration_s"], lang),
                updates=updates)
