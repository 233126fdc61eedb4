"""What the report pages share: words in Korean and English, programs' and tiers' names, the page frame
(readable from 390 px to 1,000 px and more, print-ready on A4), tables with no empty row, and inline SVG bar
charts with text labels. Every value is escaped (`pages.html`)."""

import re
from string import Template

from chalicelib.core import pages

KINDS = {
    "ko": {"business_claims": "소상공인 피해 보상", "driver_income": "택시 기사 영업 손실 보상",
           "driver_support": "대리 기사 지원금", "rider_credit": "승객 크레딧", "voucher": "이모티콘 이용권",
           "message_cash": "메시지 캐시"},
    "en": {"business_claims": "Business damage claims", "driver_income": "Taxi drivers' lost income",
           "driver_support": "Designated drivers' support", "rider_credit": "Rider credit",
           "voucher": "Emoticon vouchers", "message_cash": "Message cash"},
}
ROUND_STATUS = {"ko": {"pending_approval": "승인 대기", "paying": "지급 중", "paid": "지급 완료",
                       "creating": "생성 중"},
                "en": {"pending_approval": "Pending approval", "paying": "Paying", "paid": "Paid",
                       "creating": "Creating"}}
INDIVIDUAL = "individual"

FRAME = Template("""<!doctype html>
<html lang="$lang"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<link rel="icon" href="data:,">
<style>
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Apple SD Gothic Neo","Malgun Gothic","NanumGothic",sans-serif;
 margin:0 auto;max-width:60rem;padding:1rem;line-height:1.5;color:#1f2328;overflow-wrap:anywhere}
nav{text-align:right}
h1{font-size:1.5rem;margin:.3rem 0}
section{margin:1.5rem 0}
.muted{color:#59636e;font-size:.9rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #d1d9e0;padding:.3rem .5rem;text-align:right;vertical-align:top}
th:first-child,td:first-child,.text{text-align:left}
thead th{background:#f6f8fa}
td small{display:block;color:#59636e}
figure{margin:1rem 0;max-width:30rem}
table.facts{max-width:36rem}
figure svg{width:100%;height:auto;display:block}
figcaption{font-weight:600}
@media screen and (max-width:36rem){
 .data,.data tbody,.data tr,.data th,.data td{display:block;width:100%}
 .data thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
 .data tr{border:1px solid #d1d9e0;border-radius:.4rem;margin:.5rem 0;padding:.2rem .5rem}
 .data th,.data td{border:0;text-align:right;padding:.15rem 0}
 .data td[data-label]::before{content:attr(data-label);float:left;color:#59636e;margin-right:1rem;text-align:left}
 .data td:first-child{text-align:left;font-weight:600}
}
@media print{
 @page{size:A4;margin:15mm}
 body{max-width:none;padding:0;font-size:10.5pt}
 nav{display:none}
 section{break-before:page}
 section.first{break-before:auto}
 tr,figure,dl{break-inside:avoid}
 thead{display:table-header-group}
 h2{break-after:avoid}
}
</style></head>
<body>
<nav><a href="?format=html&amp;lang=$other_lang" hreflang="$other_lang">$other</a></nav>
$body
</body></html>
""")
TABLE = Template('<table class="data"><thead><tr>$head</tr></thead><tbody>$rows</tbody></table>')
CELL = Template('<td data-label="$label" class="$align">$value</td>')
FIGURE = re.compile(r"^[-\d,.%원명건회KRW ]*$")  # amounts, counts, rates, a dash: right-aligned; words are not
FACTS = Template('<table class="facts"><tbody>$rows</tbody></table>')
FACT = Template('<tr><th scope="row">$label</th><td>$value</td></tr>')
BAR_ROW, LABEL_GAP, BAR_HEIGHT, CHART_WIDTH = 42, 16, 18, 360


def page(lang: str, title: str, body: pages.Markup) -> str:
    """The report frame around `body`, with a link to the other language."""
    other = "en" if lang == "ko" else "ko"
    return pages.html(FRAME, lang=lang, title=title, body=body, other_lang=other,
                        other="English" if lang == "ko" else "한국어")


def table(headers: list[str], rows: list[list]) -> pages.Markup:
    """A table whose cells carry their header (shown beside the value on a phone); rows are never empty."""
    rows = [row for row in rows if any(str(cell).strip() for cell in row)]
    aligns = [_align(cell) for cell in rows[0]] if rows else ["num"] * len(headers)
    head = pages.joined(pages.html(Template('<th class="$align">$h</th>'), h=h, align=align)
                        for h, align in zip(headers, aligns, strict=True))
    body = pages.joined(
        pages.html(Template("<tr>$cells</tr>"), cells=pages.joined(
            pages.html(CELL, label=label, value=value, align=_align(value))
            for label, value in zip(headers, row, strict=True)))
        for row in rows)
    return pages.html(TABLE, head=head, rows=body)


def _align(value: object) -> str:
    return "num" if FIGURE.match(str(value)) else "text"


def facts(pairs: list[tuple[str, object]]) -> pages.Markup:
    """Label-value rows (no header row to leave empty)."""
    return pages.html(FACTS, rows=pages.joined(pages.html(FACT, label=k, value=v) for k, v in pairs))


def tier_name(label: str, tiers: list[dict], kind: str, lang: str) -> str:
    """A tier by its range: "30만원 이하", "30만원 초과 ~ 50만원 이하", "50만원 초과 (개별 심사)"."""
    bounds = sorted(int(t["max_loss_krw"]) for t in tiers)
    if label.startswith("up_to_") and label.removeprefix("up_to_").isdigit():
        high = int(label.removeprefix("up_to_"))
        low = max((b for b in bounds if b < high), default=None)
        return pages.won_range(low, high, lang)
    if label == INDIVIDUAL:
        above = pages.won_range(bounds[-1] if bounds else None, None, lang)
        return f"{above} ({'개별 심사' if lang == 'ko' else 'individual review'})"
    return KINDS[lang].get(label, KINDS[lang].get(kind, label))


def tier_order(label: str) -> tuple[int, int]:
    """Tiers lowest range first, individual review after them, other kinds last."""
    if label.startswith("up_to_") and label.removeprefix("up_to_").isdigit():
        return 0, int(label.removeprefix("up_to_"))
    return (1, 0) if label == INDIVIDUAL else (2, 0)


def bar_chart(title: str, bars: list[tuple[str, int]], lang: str) -> pages.Markup:
    """An inline SVG bar chart: each bar under its label, its amount written beside it (never colour alone)."""
    if not bars:
        return pages.Markup("")
    top = max([amount for _, amount in bars] + [1])
    shapes = []
    for n, (label, amount) in enumerate(bars):
        y = n * BAR_ROW
        width = max(2, round((CHART_WIDTH - 120) * amount / top))
        shapes.append(pages.html(Template(
            '<text x="0" y="$ty" font-size="13">$label</text>'
            '<rect x="0" y="$by" width="$w" height="$h" fill="#3b6fb6"><title>$label: $amount</title></rect>'
            '<text x="$vx" y="$vy" font-size="12">$amount</text>'),
            ty=y + 13, label=label, by=y + LABEL_GAP + 2, w=width, h=BAR_HEIGHT, vx=width + 6,
            vy=y + LABEL_GAP + 15, amount=pages.krw(amount, lang)))
    height = len(bars) * BAR_ROW
    return pages.html(Template(
        '<figure><figcaption>$title</figcaption><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        'aria-label="$title" viewBox="0 0 $w $h" width="$w" height="$h">$shapes</svg></figure>'),
        title=title, w=CHART_WIDTH, h=height, shapes=pages.joined(shapes))
