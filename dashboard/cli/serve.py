"""``sotlog serve``: the web dashboard."""

from __future__ import annotations

import argparse
from typing import Any

from dashboard.cli.common import add_store_arg, add_units_arg, whole_number


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve", help="start the web dashboard",
        description="Start the web dashboard (http://127.0.0.1:8000 by default). Listening on "
                    "any other address needs an access token (--token or SOTLOG_TOKEN).")
    p.add_argument("--http-port", type=whole_number(0, 65535), default=8000,
                   help="web port (default 8000)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--token", help="access token (default: $SOTLOG_TOKEN)")
    p.add_argument("--viewer-token", help="read-only token for a classroom display")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer to this host name (e.g. the laptop's name on the clinic "
                        "network); loopback names always work. Repeat for more")
    p.add_argument("--port", metavar="URL", help="open this device at start (pyserial URL)")
    p.add_argument("--profile", metavar="NAME_OR_PATH", help="profile for --port")
    p.add_argument("--simulate", action="store_true", help="attach a simulated device")
    add_units_arg(p, "force unit shown")
    p.add_argument("--lsl", action="store_true",
                   help="also publish forces and events on Lab Streaming Layer (needs sotlog[lsl])")
    add_store_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dashboard.web.app import serve
    from dashboard.web.settings import Settings

    settings = Settings(host=args.host, http_port=args.http_port, token=args.token,
                        viewer_token=args.viewer_token, port=args.port, profile=args.profile,
                        simulate=args.simulate, store=args.store, units=args.units,
                        lsl=args.lsl, allow_hosts=args.allow_host)
    settings.check()
    serve(settings)
    return 0
