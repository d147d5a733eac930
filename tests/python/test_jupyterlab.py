"""JupyterLab in headless Chromium: open a runbook, Run All, and check the result in AWS
(moto) and Slack. Needs Debian's chromium (scripts/test installs it)."""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from support import ROOT, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (scripts/test installs it)")


@pytest.fixture
def lab(tmp_path, aws, slack):
    nb = json.loads((ROOT / "notebooks" / "create_iam_user.ipynb").read_text())
    at = [c.get("id") for c in nb["cells"]].index("parameters") + 1
    nb["cells"].insert(at, {"cell_type": "code", "id": "values", "metadata": {}, "execution_count": None,
                            "outputs": [], "source": '%%values\nuser_name: "lab-user"'})
    (tmp_path / "onboard.ipynb").write_text(json.dumps(nb))
    port = free_port()
    jupyter = str(Path(sys.executable).parent / "jupyter")
    proc = subprocess.Popen(
        [jupyter, "lab", "--no-browser", "--allow-root", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
         f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "lab.log", "w"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api", timeout=2).read()
            break
        except Exception:
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError((tmp_path / "lab.log").read_text()[-2000:])
            time.sleep(0.3)
    yield url, tmp_path
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_run_all_in_jupyterlab_creates_the_user_and_announces_it(lab, aws, slack):
    from playwright.sync_api import sync_playwright

    url, work = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/onboard.ipynb")
        # The kernel is ours and becomes idle.
        page.wait_for_selector("text=Runbook (Rhai)", timeout=60000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60000)
        page.click("text=Run", timeout=10000)
        page.click("text=Run All Cells", timeout=10000)
        deadline = time.time() + 60
        while not slack.messages() and time.time() < deadline:
            time.sleep(0.2)
        page.wait_for_selector("text=New IAM user lab-user added by", timeout=30000)
        page.screenshot(path=str(work / "jupyterlab.png"), full_page=False)
        # Masked in the page too.
        content = page.content()
        browser.close()
    assert slack.messages() == [{"channel": "#devops", "text":
        "New IAM user lab-user added by arn:aws:sts::123456789012:user/moto with Access Policy IAMUserChangePassword"}]
    iam = aws.iam()
    assert [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="lab-user")["AttachedPolicies"]] == ["IAMUserChangePassword"]
    assert aws.password_of("lab-user") not in content
    # jupyter_server named the notebook, so the audit log knows where the calls came from.
    from nbtools import audit
    records = [r for r in audit(None, "--action", "aws.iam.create_user") if r["inputs"].get("user_name") == "lab-user"]
    assert records and records[0]["notebook_path"].endswith("onboard.ipynb")
    assert len(records[0]["notebook_hash"]) == 64  # sha256 of the notebook as the kernel started
