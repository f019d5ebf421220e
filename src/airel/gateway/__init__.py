"""The gateway edge (T2): routes real requests by the records, traces every one of them.

It imports only the domain, errors and adapters: the store and the services reach it through
the callables the composition root (:mod:`airel.client`) hands it.
"""
