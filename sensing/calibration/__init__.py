"""Raw to force: fits, tare, conversion, mat calibration, steady readings, procedures."""
