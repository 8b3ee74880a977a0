"""``sotlog ports`` and ``sotlog profiles``: what can be opened, and how it is read."""

from __future__ import annotations

import argparse
from typing import Any

from dashboard.cli.common import print_json, table


def register(sub: Any) -> None:
    p = sub.add_parser("ports", help="list serial ports present and the simulated devices",
                       description="List the serial ports present (with USB VID:PID, serial "
                                   "number and description where known: a lost port is reopened "
                                   "only when the same device is back) and sotlog's simulated "
                                   "devices.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_ports)
    p = sub.add_parser("profiles", help="list built-in device profiles, or check one",
                       description="List the built-in device profiles. Any profile file can be "
                                   "used with --profile path.toml (see docs/profiles.md). Given "
                                   "a name or a file, check the profile as `sotlog record` does "
                                   "and print its TOML; a bad one is one line naming the key.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("name", nargs="?", metavar="NAME_OR_FILE",
                   help="check this profile (a built-in name or a .toml file), print its TOML")
    p.set_defaults(func=run_profiles)


def run_ports(args: argparse.Namespace) -> int:
    from firmware_bridge.ports import list_ports

    ports = list_ports()
    if args.json:
        print_json([p.__dict__ for p in ports])
        return 0
    rows = [[p.device, p.vid_pid or "-", p.serial_number or "-", p.profile or "-", p.description]
            for p in ports]
    print(table(rows, ["PORT", "VID:PID", "SERIAL", "PROFILE", "DESCRIPTION"]))
    if not any(not p.simulated for p in ports):
        print("(no serial ports found; the simulated devices above are always available)")
    return 0


def run_profiles(args: argparse.Namespace) -> int:
    from firmware_bridge.profiles import builtin_profiles, load_profile
    from firmware_bridge.protocols import check_profile

    if args.name:
        profile = load_profile(args.name)
        check_profile(profile)  # the schema passed it; now what its protocol needs, as record
        print(profile.source, end="")
        return 0
    profiles = builtin_profiles()
    if args.json:
        print_json([{"name": p.name, "protocol": p.protocol, "description": p.description,
                     "baudrate": p.serial.baudrate, "frame_shape": list(p.frame_shape),
                     "channels": p.channel_names} for p in profiles])
        return 0
    rows = []
    for p in profiles:
        shape = (f"{p.matrix.rows}x{p.matrix.cols} mat" if p.matrix
                 else f"{len(p.channels)} ch: {', '.join(p.channel_names)}")
        rows.append([p.name, p.protocol, str(p.serial.baudrate), shape, p.description])
    print(table(rows, ["NAME", "PROTOCOL", "BAUD", "CHANNELS", "DESCRIPTION"]))
    return 0
