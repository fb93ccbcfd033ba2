"""Data only: device profiles (profiles/*.yaml) and site configs (sites/*.yaml).

This file makes the folder a package so that the data ships in the wheel and is found with
importlib.resources (see core_ext/resources.py); it holds no code.
"""
