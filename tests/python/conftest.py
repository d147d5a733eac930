import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import support  # noqa: E402

# Kernels and papermill inherit os.environ: set everything they need before any test.
_prefix = Path(os.environ.get("RUNBOOK_TEST_TMP") or __import__("tempfile").mkdtemp(prefix="runbook-tests-"))
support.install_kernel(_prefix)
os.environ["RUNBOOK_AUDIT_DB"] = str(_prefix / "audit.sqlite3")


@pytest.fixture(scope="session")
def moto_server():
    server = support.Moto()
    os.environ.update(server.env())
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slack_server():
    server = support.Slack()
    os.environ.update(server.env())
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server):
    moto_server.reset()
    return moto_server


@pytest.fixture
def slack(slack_server):
    slack_server.reset()
    return slack_server


@pytest.fixture
def proxy(aws):
    """A fault-injecting, recording proxy in front of moto. Pass proxy.env() to processes."""
    p = support.FaultProxy(aws.url)
    yield p
    p.stop()
