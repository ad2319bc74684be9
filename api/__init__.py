"""squeezelab API service: FastAPI routes -> services (state machine) -> SQLAlchemy ORM."""
