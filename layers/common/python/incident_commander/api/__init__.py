"""The REST API: one Powertools resolver behind API Gateway (and the local front end)."""
