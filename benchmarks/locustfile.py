"""Locust user of the HTTP service: the request mix of ``bench_load.py``.

Each simulated user sends requests back to back (no think time), picking:

* ``GET /recommendations/{user_id}?top_n=10`` for a known user (weight 6);
* ``POST /recommendations`` for 10 known users at once (weight 2);
* a cold start: ``POST /recommendations`` ``{"user_id": "<new id>", "history":
  [K item ids]}`` (weight 2; needs a model that reads histories).

Known user ids and item ids come from the files named by ``LOAD_USERS_FILE`` and
``LOAD_ITEMS_FILE`` (one id a line); ``LOAD_HISTORY_LEN`` is K (0: no cold-start
requests); ``NCF_API_KEY``, if set, is sent as the bearer key. Run it through
``bench_load.py``, or by hand::

    locust -f benchmarks/locustfile.py --headless -u 8 -r 8 -t 30s \\
        --host http://127.0.0.1:8000
"""

from __future__ import annotations

import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, task

USERS = Path(os.environ["LOAD_USERS_FILE"]).read_text().split()
ITEMS = Path(os.environ["LOAD_ITEMS_FILE"]).read_text().split()
HISTORY_LEN = int(os.environ.get("LOAD_HISTORY_LEN", "20"))
TOP_N = 10
BATCH_USERS = 10
KEY = os.environ.get("NCF_API_KEY")
HEADERS = {"Authorization": f"Bearer {KEY}"} if KEY else {}


class ShopClient(FastHttpUser):
    """One client of the shop's back end, requests back to back."""

    wait_time = constant(0)

    @task(6)
    def one_user(self) -> None:
        user = random.choice(USERS)
        self.client.get(
            f"/recommendations/{user}?top_n={TOP_N}",
            name="GET /recommendations/{user_id}",
            headers=HEADERS,
        )

    @task(2)
    def many_users(self) -> None:
        self.client.post(
            "/recommendations",
            json={"user_ids": random.sample(USERS, BATCH_USERS), "top_n": TOP_N},
            name="POST /recommendations (10 users)",
            headers=HEADERS,
        )

    @task(2)
    def cold_start_with_history(self) -> None:
        if HISTORY_LEN <= 0:
            return
        self.client.post(
            "/recommendations",
            json={
                "user_id": f"new-{random.getrandbits(48):x}",
                "history": random.sample(ITEMS, HISTORY_LEN),
                "top_n": TOP_N,
            },
            name="POST /recommendations (cold start + history)",
            headers=HEADERS,
        )
