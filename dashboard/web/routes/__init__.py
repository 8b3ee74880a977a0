"""One APIRouter per resource: devices, live (stream, tare, recording), sessions, events,
exports, and the pages."""
