"""Detection: normalise, dedup, damp flapping, correlate alerts into incidents, decide when to diagnose."""
