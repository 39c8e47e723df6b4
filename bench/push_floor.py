"""The floor of ``bench/push.py``: a minimal pusher, run as its own process.

It does what a push cannot do without: read the conversions to send (the same rows: the
workspace's mapped event inside the upload window, with the click id the sender supplied, in id
order, 1,000 at a time), write them as Microsoft's JSON and POST them, 1,000 rows a request,
over one keep-alive connection to the same emulator. No framework, no ORM, no bookkeeping: no
ledger, no lease, no eligibility, no run record. It imports only what that needs.

    python bench/push_floor.py '<json job description>'   (bench/push.py builds it)
"""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime

import requests

BATCH = 1000


def when(raw: str) -> str:
    """The stored UTC time, written the way Microsoft dedupes it (to the second, with Z)."""
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def main(job: dict) -> int:
    con = sqlite3.connect(job["database"])
    http = requests.Session()
    url = job["emulator"] + "/CampaignManagement/v13/OfflineConversions/Apply"
    headers = {
        "Authorization": f"Bearer {job['access_token']}",
        "DeveloperToken": job["developer_token"],
        "CustomerId": job["customer_id"],
        "CustomerAccountId": job["account_id"],
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    events = job["events"]  # event → goal name
    marks = ",".join("?" * len(events))
    last, sent = 0, 0
    while True:
        rows = con.execute(
            "SELECT c.id, c.event, c.occurred_at, c.value, c.currency, k.click_id "
            "FROM conversions c JOIN conversion_click_ids k "
            "ON k.conversion_id = c.id AND k.click_param = 'msclkid' "
            f"WHERE c.workspace_id = ? AND c.event IN ({marks}) AND c.occurred_at >= ? "
            "AND c.id > ? ORDER BY c.id LIMIT ?",
            (job["workspace_id"], *events, job["since"], last, BATCH),
        ).fetchall()
        if not rows:
            break
        last = rows[-1][0]
        body = []
        for _id, event, occurred, value, currency, click in rows:
            row = {
                "MicrosoftClickId": click,
                "ConversionName": events[event],
                "ConversionTime": when(occurred),
            }
            if value is not None:
                row["ConversionValue"] = float(value)
            if currency:
                row["ConversionCurrencyCode"] = currency
            body.append(row)
        data = json.dumps({"OfflineConversions": body}, separators=(",", ":")).encode()
        answer = http.post(url, data=data, headers=headers, timeout=90)
        answer.raise_for_status()
        if answer.json().get("PartialErrors"):
            raise SystemExit(f"the emulator refused rows: {answer.text[:300]}")
        sent += len(body)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main(json.loads(sys.argv[1])))
