"""`lendsim viz` argument checks (the server itself is tested in test_browser.py)."""

import socket

import pytest

from lendsim.cli import main
from lendsim.viz.cli import check_address


def test_bad_port_is_a_one_line_error(capsys):
    assert main(["viz", "--port", "70000", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lendsim: error: --port = 70000: must be 0..65535")


def test_port_in_use_is_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(Exception, match=f"--port = {port}: cannot listen"):
            check_address("127.0.0.1", port)


def test_unknown_host_and_free_port():
    with pytest.raises(Exception, match="--host = 'no.such.host.invalid'"):
        check_address("no.such.host.invalid", 0)
    assert check_address("127.0.0.1", 0) > 0


def test_a_host_that_is_not_this_machine_is_blamed_not_the_port():
    """Issue 22, defect 8: ``--host 8.8.8.8`` was reported as a problem with ``--port``.
    (8.8.8.8 is only bound to, never contacted: binding fails at once.)"""
    with pytest.raises(Exception, match=r"--host = '8\.8\.8\.8': not an address of this"):
        check_address("8.8.8.8", 0)


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        main(["viz", "--help"])
    out = capsys.readouterr().out
    assert "--port" in out and "--host" in out and "--no-browser" in out


def test_a_port_in_time_wait_is_free():
    """Restarting the dashboard within a minute: the last connections of the old server are
    in TIME_WAIT on its port; the server itself could bind it, so the pre-check must too."""
    with socket.socket() as srv:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn's socket
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        cli = socket.create_connection(("127.0.0.1", port))
        conn, _ = srv.accept()
        conn.close()  # the server side closes first: its end of the connection is TIME_WAIT
        cli.recv(1)
        cli.close()
    assert check_address("127.0.0.1", port) == port
