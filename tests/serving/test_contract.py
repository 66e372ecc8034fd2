"""The OpenAPI contract under schemathesis (``st run --checks all``), on a local port.

Both kinds of served model (no histories / histories), with the API key on: every
check schemathesis has (server errors, status codes and bodies as declared,
valid data accepted, invalid data rejected, auth enforced...) must pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.serving.test_end_to_end import _free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
ST = Path(sys.executable).with_name("st")
KEY = "contract-test-key"
SEED = 20261207
EXAMPLES = 150  # per operation and phase: every operation and limit is reached


@pytest.fixture(params=["ncf_app", "sasrec_app"])
def server(request, tmp_path):
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    env = {**os.environ, "NCF_API_KEY": KEY}
    env.pop("NCF_CORS_ORIGINS", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"tests.serving.schemathesis_apps:{request.param}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=log,  # a file: an unread pipe would fill and block the server
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited:\n{(tmp_path / 'server.log').read_text()}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer /health in 180 s")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_schemathesis_all_checks_pass(server):
    result = subprocess.run(
        [
            str(ST),
            "run",
            f"{server}/openapi.json",
            "--checks",
            "all",
            "--seed",
            str(SEED),
            "--max-examples",
            str(EXAMPLES),
            "--header",
            f"Authorization: Bearer {KEY}",
            "--request-timeout",
            "30",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Operations:       6 selected / 6 total" in output, output
    assert "Tested: 6" in output, output  # every operation was exercised
    assert "No issues found" in output, output
