"""The logic behind each task of the incident state machine (handlers stay thin)."""
