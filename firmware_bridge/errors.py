"""sotlog's error tree, by phase. A person sees one line: ``str(err)``."""


class SotlogError(Exception):
    """Base of every error sotlog raises on purpose; its message is one line for a person."""


class DeviceError(SotlogError):
    """A port could not be found, opened, or was lost."""


class ProtocolError(SotlogError):
    """A protocol was asked for that does not exist, or was configured wrongly."""


class ProfileError(SotlogError):
    """A device profile is missing, unreadable or inconsistent."""


class StoreError(SotlogError):
    """The session store cannot be opened, or a session or calibration is not there."""


class ExportError(SotlogError):
    """An export format is unknown, needs an optional extra, or failed to write."""


class CalibrationError(SotlogError):
    """A calibration cannot be fitted or applied."""
