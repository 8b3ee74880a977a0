"""sotlog's error tree, by phase, in one module. A person sees one line: ``str(err)``."""


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


class NotFound(StoreError):
    """A session or calibration asked for is not in the store."""


class MetadataError(SotlogError):
    """Session metadata or an event that does not fit the vocabulary."""


class TareRefused(CalibrationError):
    """A tare that would zero on moving or loaded blocks; the message says which and by how much."""


class CalibrationCancelled(CalibrationError):
    """A person cancelled a calibration run; nothing was stored."""


class StateError(SotlogError):
    """An action that does not fit what the station is doing now (e.g. Stop while idle)."""


class SettingsError(SotlogError):
    """The dashboard was asked to start in a way that is not safe or not possible."""
