"""Cases (办件): the whole "at most one trip" lifecycle as signed events on one subject.

Every case is the ledger subject ``case:{case_no}``; its projection tables (cases,
materials, notices, tasks, visits, special procedures) are rebuilt from those events.
Intake (filing, notices, acceptance, refusal, withdrawal, trips, delivery) and review
(opinions, parallel approval, decisions, special procedures, 告知承诺 verification)
are separate modules over the same models. Licences live in common/licences and
ratings in common/ratings.
"""
