"""A session's life: device connected, setup, tare, start, events, stop, end checks."""
