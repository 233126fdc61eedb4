"""The pages people read, opened in a real browser (Debian's headless Chromium, driven by Selenium through
/usr/bin/chromedriver) against the real local stack: the status page and both reports, at 1280 px and 390 px,
in Korean and English, on screen and as printed. Screenshots go to out/screenshots/ for people to look at.

`make test` installs chromium and chromium-driver when they are missing (see the Makefile); without them
these tests fail rather than skip, so a machine that cannot run them is noticed.
"""

import base64
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.e2e.conftest import bearer

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "out" / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WIDTHS = {"desktop": 1280, "phone": 390}
ADMIN = bearer("admin", "ops-1")
KOREAN_PHONE = {"Accept-Language": "ko-KR,ko;q=0.9,en-US;q=0.8"}
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")


def post(base: str, path: str, body: dict | None = None, headers: dict = ADMIN, status: int = 200) -> dict:
    answer = requests.post(f"{base}{path}", json=body, headers=headers, timeout=30)
    assert answer.status_code == status, (path, answer.status_code, answer.text)
    return answer.json()


def seed(base: str) -> dict:
    """An open incident with two updates, one resolved by a `resolved` update five days ago, and a program
    of the resolved one with three approved claims paid in one round."""
    from devstack.keys import DevKeys

    now = datetime.now(UTC)
    for name in ("billing", "maps", "dispatch"):
        post(base, "/components", {"name": name, "heartbeat_timeout_s": 86_400}, status=201)
    past = post(base, "/incidents", {"components": ["billing", "dispatch"],
                                     "started_at": (now - timedelta(days=5)).isoformat(),
                                     "summary": "판교 데이터센터 화재로 결제가 멈췄습니다"}, status=201)["incident_id"]
    post(base, f"/incidents/{past}/updates", {"status": "identified", "message": "전원 설비 화재를 확인했습니다."},
         status=201)
    post(base, f"/incidents/{past}/updates", {"status": "resolved", "message": "결제가 다시 됩니다."}, status=201)
    current = post(base, "/incidents", {"components": ["maps"], "started_at": (now - timedelta(hours=2)).isoformat(),
                                        "summary": "지도 타일이 늦게 뜹니다"}, status=201)["incident_id"]
    post(base, f"/incidents/{current}/updates", {"status": "monitoring", "message": "복구 후 지켜보고 있습니다."},
         status=201)
    program_id = post(base, "/programs", {"name": "판교 화재 소상공인 피해 보상", "incident_id": past,
                                          "kind": "business_claims", "params": {
                                              "intake_opens_at": now.isoformat(),
                                              "intake_closes_at": (now + timedelta(days=30)).isoformat(),
                                              "budget_krw": 10_000_000}}, status=201)["program_id"]
    for n, loss in enumerate((100_000, 400_000, 800_000)):
        shop = bearer("business", f"shop-{n}")
        claim = post(base, f"/programs/{program_id}/claims", {"business_id": f"shop-{n}", "business_name": f"가게 {n}",
                                                              "channel": "web", "evidence": [], "loss_krw": loss},
                     headers=shop, status=201)["claim_id"]
        post(base, f"/claims/{claim}/review", {"decision": "approve", **({"amount_krw": 600_000} if loss > 500_000
                                                                           else {})})
    round_id = post(base, "/payouts", {"program_id": program_id}, status=201)["round_id"]
    approver = {"Authorization": f"Bearer {DevKeys().token('admin', 'ops-2', approver=True)}"}
    post(base, f"/payouts/{round_id}/approve", headers=approver, status=202)
    deadline = time.monotonic() + 20
    while requests.get(f"{base}/payouts/{round_id}", headers=ADMIN, timeout=10).json()["status"] != "paid":
        assert time.monotonic() < deadline, "the round was not paid by the queue pump"
        time.sleep(0.3)
    return {"open": current, "past": past, "program": program_id}


@pytest.fixture(scope="module")
def seeded(stack):
    started = time.monotonic()
    found = {"base": stack["base"], **seed(stack["base"])}
    print(f"seeded in {time.monotonic() - started:.1f} s")
    return found


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.TemporaryDirectory(prefix="o2o-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile.name}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        profile.cleanup()


def open_page(driver, url: str, width: int, headers: dict | None = None, media: str = "screen") -> None:
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": headers or {}})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": media})
    driver.get(url)
    driver.get_log("browser")  # what the last page logged is not this page's


def checked(driver, name: str) -> dict:
    """After loading: no console error, no horizontal overflow; a full-page screenshot saved as `name`."""
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
    sizes = driver.execute_script("return {scroll: document.documentElement.scrollWidth, inner: innerWidth,"
                                  " lang: document.documentElement.lang, text: document.body.innerText}")
    assert sizes["scroll"] <= sizes["inner"], (name, sizes["scroll"], sizes["inner"])
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "format": "png"})
    (SHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
    return sizes


def test_the_status_page_shows_the_open_incident_in_both_lists_in_korean_and_english_at_both_widths(
        browser, seeded):
    base, current, past = seeded["base"], seeded["open"], seeded["past"]
    for device, width in WIDTHS.items():
        open_page(browser, f"{base}/status.html", width, headers=KOREAN_PHONE)
        korean = checked(browser, f"status-ko-{device}")
        assert korean["lang"] == "ko"
        assert "일부 서비스에 장애가 있습니다" in korean["text"]
        assert "KST" in korean["text"]
        assert browser.find_elements("id", f"open-{current}")
        assert browser.find_elements("id", f"past-{current}")
        assert browser.find_elements("id", f"past-{past}")
        assert not browser.find_elements("id", f"open-{past}")
        updates = [li.text for li in browser.find_elements("css selector", f"#past-{past} ol.updates li")]
        assert [u.split(" · ")[1] for u in updates] == ["조사 중", "원인 확인", "해결"], updates
        cells = browser.find_elements("css selector", "section[aria-label=billing] .day")
        assert len(cells) == 90
        assert "장애" in cells[-6].get_attribute("title")

        open_page(browser, f"{base}/status.html", width, headers={"Accept-Language": "en-US,en;q=0.9"})
        english = checked(browser, f"status-en-{device}")
        assert english["lang"] == "en"
        assert "Some systems are down" in english["text"]
        assert browser.find_elements("id", f"open-{current}")
        assert browser.find_elements("id", f"past-{current}")


def test_both_reports_fit_a_phone_and_a_desktop_in_both_languages_and_print_without_cutting_a_row(browser, seeded):
    base = seeded["base"]
    pages = {"program-report": f"{base}/programs/{seeded['program']}/report?format=html",
             "incident-report": f"{base}/incidents/{seeded['past']}/report?format=html"}
    for name, url in pages.items():
        for device, width in {**WIDTHS, "1000": 1000}.items():
            open_page(browser, url, width, headers={**ADMIN, **KOREAN_PHONE})
            korean = checked(browser, f"{name}-ko-{device}")
            assert "30만원 이하" in korean["text"] or name == "incident-report"
            assert "up_to_" not in korean["text"]
            assert "장애 기간" in korean["text"]
            empty = browser.execute_script("return [...document.querySelectorAll('tr')]"
                                           ".filter(r => !r.innerText.trim()).length")
            assert empty == 0
        open_page(browser, f"{url}&lang=en", WIDTHS["phone"], headers=ADMIN)
        assert "Incident window" in checked(browser, f"{name}-en-phone")["text"]

        open_page(browser, url, 794, headers={**ADMIN, **KOREAN_PHONE}, media="print")  # A4 at 96 dpi
        printed = checked(browser, f"{name}-print")
        assert printed["scroll"] <= 794
        rules = browser.execute_script(
            "return {rows: [...document.querySelectorAll('tr')].map(r => getComputedStyle(r).breakInside),"
            " sections: [...document.querySelectorAll('section')].map(s => getComputedStyle(s).breakBefore)}")
        assert rules["rows"]
        assert set(rules["rows"]) == {"avoid"}
        assert rules["sections"][0] != "page"
        assert set(rules["sections"][1:]) == {"page"}
