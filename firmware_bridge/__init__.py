"""Everything that touches the wire: ports, protocols (bytes -> frames), profiles, simulators."""

__version__ = "0.1.0"
