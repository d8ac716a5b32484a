"""Availability lookup: everyone's busy time across the calendars the organiser may see.

``busy`` turns one calendar object into busy periods, ``slots`` finds the nearest
common free start, ``freebusy`` writes periods as a VFREEBUSY reply; the index,
visibility rules, routes and command build on those plain functions.
"""
