"""Ratings (好差评) of delivered cases and the rectification of bad ones.

A rating is the case event ``case.rated`` (five levels, 非常满意 … 非常不满意); levels
4 and 5 are bad ratings and open a rectification task whose working-day deadline is
computed by the action and carried in the event. A real-name bad rating must be
called back (``case.callback_recorded``) before the task may be closed
(``case.rectification_closed``). The tables are projections of those case events;
their handlers go through ``case_handler`` so the case version stays the sseq.
"""
