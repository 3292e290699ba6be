"""Review and decision (承办、审核、办结): opinions of the departments in parallel, the
decision, special procedures and extensions, 告知承诺 verification."""
