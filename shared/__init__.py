"""The platform's common package: settings, LLM layer, cache, telemetry, schemas."""
