"""The commercial credit score: consent, the scorecard and its fitting, the fairness audit.

Nothing here scores a subject who has not consented; the score itself runs as a policy
score (a points table compiled like every other rule), so this package holds what is
around it: consent records, training, the model card and the audit."""
