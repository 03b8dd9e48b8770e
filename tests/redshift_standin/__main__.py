"""``python -m tests.redshift_standin --postgres URL --port PORT``: serve until killed.

S3 for COPY comes from the standard AWS environment (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ...).
Prints one line containing ``ready`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from tests.redshift_standin import Standin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.redshift_standin", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--postgres", required=True, help="the backing PostgreSQL server, postgresql://user@host:port/db"
    )
    parser.add_argument(
        "--port", type=int, default=5439, help="the port to listen on (0: any free one; default 5439)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    args = parser.parse_args(argv)
    server = Standin(args.postgres, host=args.host, port=args.port).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"redshift stand-in ready on {server.host}:{server.port}; try: {server.url()}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        # a timed wait: the kernel may deliver SIGTERM to a session thread, and Python runs the
        # handler only when the main thread wakes -- an untimed wait could then sleep forever
        while not stop.wait(0.2):
            pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
