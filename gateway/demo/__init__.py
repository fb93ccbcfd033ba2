"""`custody demo`: the live demo (a handling area and a property room on loopback) and its
offline summary. live.py runs it; site.py writes the demo's variant of each site file;
player.py plays the generated day; report.py reads the outcome back; processes.py owns the
child processes; summary.py is `custody demo --offline`.
"""
