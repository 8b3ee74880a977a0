"""Everything that touches the wire: ports, protocols (bytes -> frames), profiles, simulated devices."""

__version__ = "0.1.0"
