"""The final report as a page for people: totals, a table per tier and per round, and two bar charts (SVG)."""

from html import escape

BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 56, 24, 160


def report_html(report: dict) -> str:
    """The report of `program_report` rendered as one self-contained HTML page."""
    tiers, rounds = report["by_tier"], report["rounds"]
    summary = [("Claims filed", report["claims_filed"]), ("Approved", report["approved"]),
               ("Rejected", report["rejected"]), ("Pending", report["pending"]),
               ("Paid", report["paid_count"]), ("Paid (KRW)", _krw(report["paid_krw"])),
               ("Budget (KRW)", _krw(report["budget_krw"])), ("Budget left (KRW)", _krw(report["budget_left_krw"]))]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(report["name"])}: compensation report</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}}
table{{border-collapse:collapse;margin:1rem 0}}
td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}th:first-child,td:first-child{{text-align:left}}
figure{{display:inline-block;margin:1rem 2rem 1rem 0}}</style></head><body>
<h1>{escape(report["name"])}</h1>
<p>Program {escape(report["program_id"])} ({escape(report["kind"])}) for incident {escape(report["incident_id"])}.
Generated {escape(report["generated_at"])}.</p>
{_table(["", ""], [[label, value] for label, value in summary])}
<h2>By tier</h2>
{_table(["Tier", "Approved", "Approved (KRW)", "Paid", "Paid (KRW)"],
        [[tier, t["approved"], _krw(t["approved_krw"]), t["paid"], _krw(t["paid_krw"])] for tier, t in tiers.items()])}
<h2>Rounds</h2>
{_table(["Round", "Status", "Claims", "Paid", "Total (KRW)", "Paid (KRW)", "Approved at", "Paid at"],
        [[r["round_id"], r["status"], r["claim_count"], r["paid_count"], _krw(r["total_krw"]), _krw(r["paid_krw"]),
          r["approved_at"] or "", r["paid_at"] or ""] for r in rounds])}
{bar_chart("Paid per round (KRW)", [(f"Round {n}", r["paid_krw"]) for n, r in enumerate(rounds, 1)])}
{bar_chart("Paid per tier (KRW)", [(tier, t["paid_krw"]) for tier, t in tiers.items()])}
</body></html>"""


def bar_chart(title: str, bars: list[tuple[str, int]]) -> str:
    """An inline SVG bar chart of (label, amount) pairs."""
    top = max([amount for _, amount in bars] + [1])
    width = max(len(bars), 1) * (BAR_WIDTH + BAR_GAP) + BAR_GAP
    shapes = []
    for n, (label, amount) in enumerate(bars):
        height = round(CHART_HEIGHT * amount / top)
        x, y = BAR_GAP + n * (BAR_WIDTH + BAR_GAP), 20 + CHART_HEIGHT - height
        shapes.append(f'<rect x="{x}" y="{y}" width="{BAR_WIDTH}" height="{height}" fill="#3b6fb6">'
                      f"<title>{escape(label)}: {amount:,} KRW</title></rect>"
                      f'<text x="{x + BAR_WIDTH / 2}" y="{y - 4}" font-size="10" text-anchor="middle">{amount:,}</text>'
                      f'<text x="{x + BAR_WIDTH / 2}" y="{CHART_HEIGHT + 34}" font-size="10" '
                      f'text-anchor="middle">{escape(label)}</text>')
    return (f'<figure><figcaption>{escape(title)}</figcaption>'
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" width="{width}" '
            f'height="{CHART_HEIGHT + 44}">{"".join(shapes)}</svg></figure>')


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _krw(amount: int | None) -> str:
    return "-" if amount is None else f"{amount:,}"
