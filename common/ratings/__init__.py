"""Ratings (好差评) of delivered cases and the rectification of bad ones.

A rating is the case event ``case.rated`` (five levels, 非常满意 … 非常不满意), written
by the case's custodian; levels 4 and 5 are bad ratings and open a rectification task
whose working-day deadline and responsible node are computed by the action and carried
in the event. The task has its own chain ``rectification:{case_no}``, written only by
the responsible node (the deciding node, or a deciding village's township): a
real-name bad rating must be called back (``rectification.callback_recorded``) before
the task may be closed (``rectification.closed``). The tables are projections of
those events.
"""
