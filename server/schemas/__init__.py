"""Wire formats: msgspec structs for the uplink (speed), pydantic models for the user API."""
