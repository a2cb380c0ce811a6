"""`openledger node` stops its anvil however it is stopped, so the next start finds the port free."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from _anvil import PROJECT_ROOT, running_anvil
from _ports import free_port
from click.testing import CliRunner
from web3 import Web3

from openledger_chain.cli import main


def _start_node(port: int) -> subprocess.Popen[str]:
    """`openledger node --port PORT` as a terminal starts it: with Ctrl-C's default action, whatever this test
    process inherited (a job started in the background of a non-interactive shell ignores SIGINT, and its
    children would too)."""
    return subprocess.Popen([sys.executable, "-c", "from openledger_chain.cli import main; main()", "node", "--port",
                             str(port)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_node_stops_anvil_when_it_is_stopped(stop: signal.Signals) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    node = _start_node(port)
    deadline = time.monotonic() + 30
    while not Web3(Web3.HTTPProvider(url)).is_connected():
        assert time.monotonic() < deadline and node.poll() is None, "the node did not start"
        time.sleep(0.2)
    node.send_signal(stop)
    node.wait(timeout=20)
    deadline = time.monotonic() + 10
    while Web3(Web3.HTTPProvider(url)).is_connected():
        assert time.monotonic() < deadline, f"anvil still answers on port {port} after {stop.name}"
        time.sleep(0.2)


def test_a_busy_port_is_refused_naming_what_holds_it() -> None:
    with running_anvil() as url:
        port = url.rsplit(":", 1)[1]
        result = CliRunner().invoke(main, ["node", "--port", port, "--project-root", str(PROJECT_ROOT)])
    assert result.exit_code == 1
    assert f"port {port} is already in use by pid" in result.output and "anvil" in result.output


_CTRL_C_LOST_IN_A_FINALIZER = """
import os, signal
from openledger_chain.cli import main

class Finalizer:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(1000))  # Python runs the handler here, inside the finalizer, and drops its KeyboardInterrupt

Finalizer()
main()
"""


def test_a_ctrl_c_whose_keyboard_interrupt_was_lost_still_stops_the_node() -> None:
    """Imports run finalizers, and a KeyboardInterrupt raised in one is only printed: the node used to go on
    and start anvil after a Ctrl-C that came at that moment (it failed CI twice)."""
    port = free_port()
    node = subprocess.Popen([sys.executable, "-c", _CTRL_C_LOST_IN_A_FINALIZER, "node", "--port", str(port)],
                            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        output, _ = node.communicate(timeout=30)
    finally:
        if node.poll() is None:
            node.send_signal(signal.SIGINT)
            node.communicate(timeout=20)
    assert "Exception ignored" in output and "KeyboardInterrupt" in output, output  # the interrupt was lost
    assert node.returncode == 1 and "Aborted!" in output and "local chain on" not in output, output
    assert not Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}")).is_connected()


@pytest.mark.parametrize("delay", [0.5, 1.5])
def test_a_stop_however_early_leaves_no_anvil_behind(delay: float) -> None:
    """A signal while the command is still starting (importing, deriving the dev accounts, starting anvil):
    one between starting anvil and installing the handlers used to leave anvil running."""
    port = free_port()
    node = _start_node(port)
    time.sleep(delay)
    node.send_signal(signal.SIGINT)
    node.wait(timeout=20)
    time.sleep(0.5)
    assert not Web3(Web3.HTTPProvider(f"http://127.0.0.1:{port}")).is_connected(), f"anvil outlived a stop at {delay} s"
