"""Is a TCP port on this machine free for a server to listen on?"""

from __future__ import annotations

import socket

__all__ = ["port_is_free"]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Like the Go and Python servers: a closed connection still in TIME_WAIT
        # must not count as "taken", only a listener or an active bind does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
