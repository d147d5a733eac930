"""jupyter console, the terminal frontend, in a pseudo-terminal (its --simple-prompt mode,
made for pexpect; multi-line continuation uses is_complete, covered by the conformance suite)."""

import sys
from pathlib import Path

import pexpect

JUPYTER = str(Path(sys.executable).parent / "jupyter")


def test_jupyter_console_runs_cells_keeps_state_and_survives_errors(aws, slack):
    child = pexpect.spawn(JUPYTER, ["console", "--kernel", "runbook", "--simple-prompt"], encoding="utf-8", timeout=30)
    try:
        child.expect(r"In \[1\]: ")
        child.sendline("let x = 40; x + 2")
        child.expect(r"Out\[1\]: 42")
        child.expect(r"In \[2\]: ")
        child.sendline("fn twice(n) { n * 2 }")
        child.expect(r"In \[3\]: ")
        child.sendline("nope(")
        child.expect("ParseError")
        child.expect(r"In \[4\]: ")
        child.sendline("twice(x)")
        child.expect(r"Out\[4\]: 80")
        child.sendline('print("from rhai")')
        child.expect("from rhai")
        child.sendline("%%action aws.sts.get_caller_identity -> me")
        child.expect("arn:aws:sts::123456789012:user/moto")
        child.expect(r"In \[\d+\]: ")
        child.sendeof()
        index = child.expect([r"\(\[y\]/n\)", pexpect.EOF])
        if index == 0:
            child.sendline("y")
            child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_exit_ends_the_console_session(aws, slack):
    child = pexpect.spawn(JUPYTER, ["console", "--kernel", "runbook", "--simple-prompt"], encoding="utf-8", timeout=30)
    try:
        child.expect(r"In \[1\]: ")
        child.sendline("exit")
        index = child.expect([r"\(\[y\]/n\)", pexpect.EOF, r"Variable not found"])
        assert index != 2, "exit was run as Rhai"
        if index == 0:
            child.sendline("y")
            child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
