"""What people run when an alert fires or a month closes: the partner API's own use cases.

Each command reads the partner CDR API through the same client as the daemon (its rate limit,
retries and 429 handling), in the daemon's mode (global feed or per account), and prints a
table, CSV or JSON:

    call.py      cdr-detector call UUID       one call's timeline, causes, context and alerts
    query.py     cdr-detector cdrs            every list filter; table, CSV or JSON lines
    billing.py   report billing               recompute charges from a rate card (ratecard.py)
    noanswer.py  report no-answer             no-answer rate per account, trunk, destination
    kpis.py      report kpis                  ASR, ACD, NER, short calls, spend (+ chart.py)

Shared parts: `reader.py` pages the API day by day (and reads single calls), `session.py`
builds it from the daemon's settings, `alerts.py` finds the alerts a call belongs to,
`ratecard.py` prices calls, `chart.py` draws the KPI PNG, `output.py` renders tables, CSV and
JSON safely (CDR text is untrusted), and `commands.py` declares the command-line options.
"""
