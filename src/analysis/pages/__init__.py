"""The page layer: everything the reader sees is worded here, from codes the calculations return.

Calculations (``analysis.models``, ``analysis.sections.retention``, ``analysis.sections.summary`` …) return numbers and
:class:`analysis.codes.Note` codes, never sentences.  This package turns them into words in the
report's language (:mod:`analysis.pages.words`, one catalogue per language in ``catalogue/``).
"""
