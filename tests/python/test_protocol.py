"""The kernel through jupyter_client: what Jupyter frontends rely on beyond the
conformance suite — control channel, interrupts, shutdown, aborts, stdin, robustness."""

import json
import os
import signal
import time

import pytest
import zmq
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import Session


@pytest.fixture
def kernel():
    km, kc = start_new_kernel(kernel_name="runbook", startup_timeout=30)
    yield km, kc
    kc.stop_channels()
    if km.is_alive():
        km.shutdown_kernel(now=True)


def drain_iopub(kc, parent_id, timeout=5):
    """IOPub messages for one request, up to and including its idle status."""
    msgs, deadline = [], time.time() + timeout
    while time.time() < deadline:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != parent_id:
            continue
        msgs.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return msgs
    raise AssertionError(f"no idle for {parent_id}: {msgs}")


def shell_reply(kc, parent_id, timeout=10):
    while True:
        msg = kc.get_shell_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") == parent_id:
            return msg


def execute(kc, code, **kw):
    msg_id = kc.execute(code, **kw)
    reply = shell_reply(kc, msg_id)
    return reply, drain_iopub(kc, msg_id)


def states(msgs):
    return [m["content"]["execution_state"] for m in msgs if m["msg_type"] == "status"]


def test_kernel_info_on_shell_is_wrapped_in_busy_idle(kernel):
    km, kc = kernel
    msg_id = kc.kernel_info()
    reply = shell_reply(kc, msg_id)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["language_info"]["name"] == "rhai"
    assert reply["content"]["protocol_version"].startswith("5.")
    assert states(drain_iopub(kc, msg_id)) == ["busy", "idle"]


def test_kernel_info_on_control_is_answered_and_wrapped(kernel):
    km, kc = kernel
    msg = kc.session.msg("kernel_info_request", {})
    kc.control_channel.send(msg)
    reply = kc.control_channel.get_msg(timeout=5)
    assert reply["parent_header"]["msg_id"] == msg["header"]["msg_id"]
    assert reply["content"]["implementation"] == "runbook"
    assert states(drain_iopub(kc, msg["header"]["msg_id"])) == ["busy", "idle"]


def test_interrupt_stops_an_infinite_loop_within_a_second_and_kernel_lives(kernel):
    km, kc = kernel
    execute(kc, "let counter = 0;")
    msg_id = kc.execute("loop { counter += 1; }")
    time.sleep(0.5)
    start = time.monotonic()
    km.interrupt_kernel()
    reply = shell_reply(kc, msg_id, timeout=5)
    elapsed = time.monotonic() - start
    assert elapsed < 1.0, elapsed
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    errors = [m for m in drain_iopub(kc, msg_id) if m["msg_type"] == "error"]
    assert "interrupted" in errors[0]["content"]["evalue"]
    reply, msgs = execute(kc, "counter > 0")
    assert reply["content"]["status"] == "ok"
    assert [m["content"]["data"]["text/plain"] for m in msgs if m["msg_type"] == "execute_result"] == ["true"]


def test_sigint_is_an_interrupt_not_a_kill(kernel):
    km, kc = kernel
    msg_id = kc.execute("loop { }")
    time.sleep(0.3)
    km.signal_kernel(signal.SIGINT)
    reply = shell_reply(kc, msg_id, timeout=5)
    assert reply["content"]["ename"] == "Interrupted"
    assert km.is_alive()
    assert execute(kc, "1 + 1")[0]["content"]["status"] == "ok"


def test_shutdown_request_gets_its_reply_and_the_process_exits(kernel):
    km, kc = kernel
    msg = kc.session.msg("shutdown_request", {"restart": False})
    kc.control_channel.send(msg)
    reply = kc.control_channel.get_msg(timeout=5)
    assert reply["msg_type"] == "shutdown_reply"
    assert reply["content"] == {"status": "ok", "restart": False}
    deadline = time.time() + 5
    while km.is_alive() and time.time() < deadline:
        time.sleep(0.05)
    assert not km.is_alive()
    assert km.provisioner.process.returncode == 0


def test_shutdown_while_a_cell_runs_answers_that_cell_then_exits(kernel):
    km, kc = kernel
    msg_id = kc.execute("loop { }")
    time.sleep(0.5)
    began = time.time()
    kc.control_channel.send(kc.session.msg("shutdown_request", {"restart": False}))
    assert kc.control_channel.get_msg(timeout=5)["msg_type"] == "shutdown_reply"
    reply = kc.get_shell_msg(timeout=5)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "Interrupted"
    while km.is_alive() and time.time() - began < 5:
        time.sleep(0.05)
    assert not km.is_alive()
    assert time.time() - began < 3


@pytest.mark.parametrize("pipes", [False, True], ids=["inherited-stderr", "stderr-pipe-left-dangling"])
def test_kernel_exits_when_the_process_that_started_it_dies(tmp_path, pipes):
    import subprocess
    import sys
    from jupyter_client.connect import write_connection_file

    conn, _ = write_connection_file(str(tmp_path / "kernel.json"), ip="127.0.0.1")
    pid_file = tmp_path / "kernel.pid"
    # A launcher that starts the kernel as jupyter_client does (JPY_PARENT_PID set), then is killed.
    launcher = subprocess.Popen([
        sys.executable, "-c",
        "import os, subprocess, sys, time\n"
        "p = subprocess.Popen([sys.argv[1], 'kernel', '--connection-file', sys.argv[2]],"
        " env=dict(os.environ, JPY_PARENT_PID=str(os.getpid())),"
        " **({'stdout': subprocess.PIPE, 'stderr': subprocess.PIPE} if sys.argv[4] == '1' else {}))\n"
        "open(sys.argv[3], 'w').write(str(p.pid))\n"
        "time.sleep(600)\n",
        os.environ["RUNBOOK_BIN"], conn, str(pid_file), "1" if pipes else "0",
    ])
    try:
        deadline = time.time() + 10
        while not (pid_file.exists() and pid_file.read_text()) and time.time() < deadline:
            time.sleep(0.05)
        kernel_pid = int(pid_file.read_text())
        time.sleep(0.5)
        os.kill(kernel_pid, 0)  # running while its parent lives
        launcher.kill()
        launcher.wait()
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                os.kill(kernel_pid, 0)
            except ProcessLookupError:
                break
            # Reparented to us or to init: reap it if it is our zombie.
            try:
                os.waitpid(kernel_pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.1)
        else:
            os.kill(kernel_pid, signal.SIGKILL)
            raise AssertionError("the orphaned kernel kept running")
    finally:
        launcher.kill()


def test_state_persists_across_cells(kernel):
    km, kc = kernel
    execute(kc, "fn double(x) { x * 2 }\nconst LIMIT = 10;\nlet items = [1, 2];")
    reply, msgs = execute(kc, "items.push(double(LIMIT)); items")
    assert [json.loads(m["content"]["data"]["text/plain"]) for m in msgs if m["msg_type"] == "execute_result"] == [[1, 2, 20]]


def test_stop_on_error_aborts_queued_cells_after_the_error_reply(kernel):
    km, kc = kernel
    ids = [kc.execute('throw "first fails"'), kc.execute("let ran = true;"), kc.execute("2")]
    replies = [kc.get_shell_msg(timeout=10) for _ in ids]
    assert [r["parent_header"]["msg_id"] for r in replies] == ids
    assert [r["content"]["status"] for r in replies] == ["error", "aborted", "aborted"]
    reply, msgs = execute(kc, "ran")
    assert reply["content"]["status"] == "error"  # the aborted cell never ran


def test_silent_cells_have_no_input_result_or_count(kernel):
    km, kc = kernel
    first, _ = execute(kc, "1")
    reply, msgs = execute(kc, "40 + 2", silent=True)
    types = [m["msg_type"] for m in msgs]
    assert "execute_input" not in types and "execute_result" not in types
    assert reply["content"]["execution_count"] == first["content"]["execution_count"]
    after, _ = execute(kc, "3")
    assert after["content"]["execution_count"] == first["content"]["execution_count"] + 1


def test_input_without_stdin_fails_with_a_clear_message(kernel):
    km, kc = kernel
    reply, msgs = execute(kc, 'input("name? ")', allow_stdin=False)
    assert reply["content"]["status"] == "error"
    assert "allow_stdin is false" in reply["content"]["evalue"]


def test_input_round_trip_over_stdin(kernel):
    km, kc = kernel
    msg_id = kc.execute('let who = input("name? "); who', allow_stdin=True)
    request = kc.get_stdin_msg(timeout=5)
    assert request["content"]["prompt"] == "name? "
    kc.input("alice")
    reply = shell_reply(kc, msg_id)
    results = [m for m in drain_iopub(kc, msg_id) if m["msg_type"] == "execute_result"]
    assert reply["content"]["status"] == "ok"
    assert results[0]["content"]["data"]["text/plain"] == '"alice"'


def _raw_shell_socket(km):
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.connect(f"tcp://{km.ip}:{km.shell_port}")
    return sock


def test_bad_signature_and_garbage_are_dropped_and_kernel_keeps_serving(kernel):
    km, kc = kernel
    sock = _raw_shell_socket(km)
    forged = Session(key=b"not-the-key", username="mallory")
    forged.send(sock, "execute_request", {"code": 'let pwned = true;', "silent": False})
    sock.send_multipart([b"<IDS|MSG>", b"", b"{not json", b"{}", b"{}", b"{}"])
    sock.send_multipart([b"no delimiter at all"])
    real = Session(key=km.session.key, username="alice")
    real.send(sock, "execute_request", {"code": "{ unparseable"})  # signed, content fine, code bad
    time.sleep(0.5)
    sock.close(0)
    reply, msgs = execute(kc, "pwned")
    assert reply["content"]["status"] == "error"
    assert "pwned" in reply["content"]["evalue"]
    assert execute(kc, "1 + 1")[0]["content"]["status"] == "ok"


def test_minimal_execute_request_without_optional_fields(kernel):
    km, kc = kernel
    msg = kc.session.msg("execute_request", {"code": "6 * 7"})
    kc.shell_channel.send(msg)
    reply = shell_reply(kc, msg["header"]["msg_id"])
    assert reply["content"]["status"] == "ok"


def test_heartbeat_survives_client_disconnects(kernel):
    km, kc = kernel
    ctx = zmq.Context.instance()
    for _ in range(3):
        hb = ctx.socket(zmq.REQ)
        hb.connect(f"tcp://{km.ip}:{km.hb_port}")
        hb.send(b"ping")
        assert hb.poll(2000), "no heartbeat reply"
        assert hb.recv() == b"ping"
        hb.close(0)


def test_comm_info_and_unknown_requests(kernel):
    km, kc = kernel
    msg = kc.session.msg("comm_info_request", {})
    kc.shell_channel.send(msg)
    assert shell_reply(kc, msg["header"]["msg_id"])["content"] == {"status": "ok", "comms": {}}
    msg = kc.session.msg("no_such_request", {})
    kc.shell_channel.send(msg)
    assert states(drain_iopub(kc, msg["header"]["msg_id"])) == ["busy", "idle"]
    assert execute(kc, "1")[0]["content"]["status"] == "ok"


def test_secrets_print_masked(kernel):
    km, kc = kernel
    reply, msgs = execute(kc, 'let s = secret("hunter2"); print(s); print(`pw=${s}`); #{ pw: s }')
    text = json.dumps([m["content"] for m in msgs if m["msg_type"] != "execute_input"])
    assert "hunter2" not in text
    assert "********" in text
    reply, msgs = execute(kc, "reveal(s)")
    assert [m["content"]["data"]["text/plain"] for m in msgs if m["msg_type"] == "execute_result"] == ['"hunter2"']


def test_error_output_names_line_column_and_source(kernel):
    km, kc = kernel
    reply, msgs = execute(kc, "let a = 1;\nlet b = a + missing_name;")
    err = [m["content"] for m in msgs if m["msg_type"] == "error"]
    assert len(err) == 1
    assert "missing_name" in err[0]["evalue"] and "line 2" in err[0]["evalue"]
    assert any("let b = a + missing_name;" in line for line in err[0]["traceback"])


def test_filesystem_imports_are_refused(kernel, tmp_path):
    km, kc = kernel
    (tmp_path / "m.rhai").write_text("export const X = 1;")
    reply, _ = execute(kc, f'import "{tmp_path}/m" as m; m::X')
    assert reply["content"]["status"] == "error"
