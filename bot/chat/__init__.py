"""The chat channels the Rasa server listens on (configured in credentials.yml)."""
