"""Runs the seed runbook against local stand-ins for AWS and Slack and reports what
happened, as checked from outside (boto3 against the emulator, the recorded Slack
requests). Started by scripts/demo."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))

import support  # noqa: E402


def main():
    user = sys.argv[1] if len(sys.argv) > 1 else "alice"
    policy = sys.argv[2] if len(sys.argv) > 2 else "IAMUserChangePassword"
    work = Path(tempfile.mkdtemp(prefix="runbook-demo-"))
    support.install_kernel(work / "jupyter")
    print("Starting moto server (local AWS IAM/STS) and a local Slack endpoint on 127.0.0.1 ...")
    moto, slack = support.Moto(), support.Slack()
    os.environ.update(moto.env())
    os.environ.update(slack.env())
    out_dir = ROOT / "demo-output"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / "create_iam_user.out.ipynb"
    # The emulator's calls go to the demo's own audit log, not to yours.
    audit_db = out_dir / "audit.sqlite3"
    os.environ["RUNBOOK_AUDIT_DB"] = str(audit_db)
    try:
        import nbformat
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        print(f"Running: papermill notebooks/create_iam_user.ipynb {out.relative_to(ROOT)} "
              f"-p user_name {user} -p policy {policy}\n")
        failed = None
        try:
            pm.execute_notebook(str(ROOT / "notebooks" / "create_iam_user.ipynb"), str(out),
                                parameters={"user_name": user, "policy": policy},
                                kernel_name="runbook", progress_bar=False, execution_timeout=120)
        except PapermillExecutionError as e:
            failed = e
        nb = nbformat.read(str(out), as_version=4)
        print("Cell outputs:")
        for c in nb.cells:
            if c.cell_type != "code":
                continue
            head = c.source.splitlines()[0] if c.source else ""
            for o in c.get("outputs", []):
                if o.output_type == "execute_result":
                    text = o.data.get("text/plain", "")
                    print(f"  [{c.execution_count}] {head}\n      " + text.replace("\n", "\n      "))
                elif o.output_type == "error":
                    print(f"  [{c.execution_count}] {head}\n      ERROR {o.ename}: {o.evalue}")
                elif o.output_type == "stream":
                    print(f"  [{c.execution_count}] {head}\n      {o.text.rstrip()}")
        print("\nChecked independently with boto3 against the emulator:")
        iam = moto.iam()
        users = [u["UserName"] for u in iam.list_users()["Users"]]
        print(f"  IAM users: {users}")
        if user in users:
            attached = [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]]
            print(f"  policies attached to {user}: {attached}")
            try:
                lp = iam.get_login_profile(UserName=user)["LoginProfile"]
                print(f"  login profile: created {lp['CreateDate']}")
            except iam.exceptions.NoSuchEntityException:
                print("  login profile: none")
        print("\nSlack messages received by the local endpoint:")
        for m in slack.messages():
            print(f"  {m['channel']}: {m['text']}")
        if not slack.messages():
            print("  (none)")
        saved = out.read_text()
        try:
            password = moto.password_of(user)
        except AssertionError:  # no login profile was created
            password = None
        if password and password in saved:
            print(f"\nOutput notebook: {out.relative_to(ROOT)} -- WARNING: it contains the generated password")
            return 1
        checked = "checked: the generated password is not in it" if password else "no password was generated"
        print(f"\nOutput notebook: {out.relative_to(ROOT)} ({checked})")
        print(f"Audit log of this demo: runbook audit --audit-db {audit_db.relative_to(ROOT)}")
        if failed:
            print(f"\nThe run FAILED at a cell: {failed.ename}: {failed.evalue}")
            return 1
        print("\nDone: the user exists with the policy, and the announcement was posted.")
        return 0
    finally:
        moto.stop()
        slack.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
