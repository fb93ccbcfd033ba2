"""The `custody` command line: cli.py maps each subcommand to its module here, imported only
when that subcommand runs (so `custody replay` never loads the server or the web stack).

replay.py, scenario.py, check_site.py, run.py (`custody gateway run|add-staff`), journal.py,
demo.py; `custody server` lives in server/cli.py.
"""
