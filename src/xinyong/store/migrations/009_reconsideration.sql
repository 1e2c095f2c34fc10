-- An objection filed after a rejection, within the rule's period, asks the next level to
-- reconsider: it names the rejected objection, and its deadline is the reconsideration's.
ALTER TABLE objections ADD COLUMN reconsiders VARCHAR;
