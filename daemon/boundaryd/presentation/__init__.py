"""Every text a person reads, in one place.

The core, the calendars, delivery and the engine pass data; the words come from here:

* ``words`` — the decline message an organizer reads (and Google's focus-time message);
* ``notice``, ``grid``, ``times`` — notices, the weekly preview and owner alerts (text + HTML);
* ``reply`` — the iMIP reply's subject and text part;
* ``mail_errors`` — what a person reads when mail does not go out;
* ``render`` — the terminal: the week table, the plan summary, conflict lines;
* ``jsonout`` — the JSON of ``plan --json`` / ``sync --json``;
* ``safe`` — invitation text made one line and bounded before it is shown anywhere;
* ``templating`` + ``templates/`` — the Jinja2 templates (HTML autoescaped).
"""
