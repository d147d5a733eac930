"""Times the seed runbook: `runbook run` (in-process) vs papermill (through the
kernel over ZeroMQ), same moto, same Slack stand-in, same parameters."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "python"))
import support  # noqa: E402


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    work = Path(tempfile.mkdtemp(prefix="runbook-bench-"))
    support.install_kernel(work / "jupyter")
    os.environ["RUNBOOK_AUDIT_DB"] = str(work / "audit.sqlite3")
    moto, slack = support.Moto(), support.Slack()
    os.environ.update(moto.env())
    os.environ.update(slack.env())
    seed = ROOT / "notebooks" / "create_iam_user.ipynb"
    papermill = str(Path(sys.executable).parent / "papermill")
    binary = str(support.runbook_bin())
    times = {"runbook run": [], "papermill": []}
    try:
        for i in range(runs):
            for name in times:
                moto.reset()
                out = work / f"out-{i}.ipynb"
                if name == "runbook run":
                    cmd = [binary, "run", str(seed), "-p", "user_name=bench", "-o", str(out)]
                else:
                    cmd = [papermill, "--no-progress-bar", "-k", "runbook", str(seed), str(out), "-p", "user_name", "bench"]
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                times[name].append(time.perf_counter() - t0)
    finally:
        moto.stop()
        slack.stop()
    print(f"seed runbook (7 code cells, 5 actions) against moto on 127.0.0.1, {runs} runs each, {binary}")
    for name, ts in times.items():
        print(f"  {name:12s} median {statistics.median(ts):.3f}s  min {min(ts):.3f}s  max {max(ts):.3f}s")
    ratio = statistics.median(times["papermill"]) / statistics.median(times["runbook run"])
    print(f"  papermill / runbook run: {ratio:.1f}x")


if __name__ == "__main__":
    main()
