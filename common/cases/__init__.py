"""Cases (办件): the whole "at most one trip" lifecycle as signed events on one subject.

Every case is the ledger subject ``case:{case_no}``; its projection tables (cases,
materials, notices, tasks, visits, special procedures) are rebuilt from those events.
By concern, each with its service (action functions), router and projection:
``intake/`` (filing, notices, acceptance, refusal, withdrawal, trips, delivery),
``review/`` (opinions, parallel approval, decisions, special procedures, 告知承诺
verification) and ``handoff/`` (custody offers and answers, the chain of custody). At
the top, what they share: ``models``, ``states``, ``access`` (loading and appending with
custody), ``clock``, ``projection`` (the one cases projection), ``queries`` (the reads),
``flows`` (steps that chain several actions) and ``api`` (what the routers share). Who may do what is
``common.authority``'s; licences live in common/licences and ratings in common/ratings.
"""
