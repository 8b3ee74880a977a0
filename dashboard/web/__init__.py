"""The web dashboard: the FastAPI app, its routes, templates and static files."""
