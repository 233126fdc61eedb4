"""An operator posts a notice and a driver reads it, over HTTP against the real local stack."""

import pytest
import requests

from tests.e2e.conftest import bearer

pytestmark = pytest.mark.e2e


def test_a_posted_notice_is_read_by_a_driver(stack):
    base = stack["base"]
    posted = requests.post(f"{base}/notices", headers=bearer("admin", "ops-1"), timeout=10,
                           json={"title": "Weekly notice", "body": "Insurance stays on the platform."})
    assert posted.status_code == 201
    notice_id = posted.json()["notice_id"]
    driver = bearer("driver", "e2e-notice-driver")
    requests.put(f"{base}/drivers/me", headers=driver, json={"name": "Choi", "services": ["taxi"]}, timeout=10)
    listed = requests.get(f"{base}/notices", headers=driver, timeout=10).json()["items"]
    assert [(n["notice_id"], n["read"]) for n in listed] == [(notice_id, False)]
    assert requests.post(f"{base}/notices/{notice_id}/read", headers=driver, timeout=10).status_code == 200
    assert requests.get(f"{base}/notices/{notice_id}", headers=driver, timeout=10).json()["read"] is True
    counted = requests.get(f"{base}/notices/{notice_id}", headers=bearer("admin", "ops-1"), timeout=10).json()
    assert counted["read_count"] == 1
