"""The domain: sessions and their metadata, calibration, the store, metrics, outputs, recording."""
