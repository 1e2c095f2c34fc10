"""Due process: the working-day calendar, notices to the subject, objections, credit repair,
expiry and the remedies of a subject's measures."""
