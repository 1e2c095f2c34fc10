"""Who looked at a subject: the durable access log and the subject's own credential."""
