"""Claims domain: claims and their lines, decisions, disputes, reconciliation, and the adjudication engine
(``engine``, a pure function of a claim and the facts the other domains supply; see ADJUDICATION.md).
"""
