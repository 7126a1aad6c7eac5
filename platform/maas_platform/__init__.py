"""Multi-Agent-as-a-Service platform library."""
