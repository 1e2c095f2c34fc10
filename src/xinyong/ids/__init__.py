"""Subject identifiers: validation (python-stdnum), masking and pseudonymous keys."""

from xinyong.ids.masking import mask
from xinyong.ids.pseudonym import subject_key
from xinyong.ids.subject import SubjectId, parse_subject

__all__ = ["SubjectId", "mask", "parse_subject", "subject_key"]
