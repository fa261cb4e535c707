"""The wellbeing report: self-contained HTML pages (one per listener and an overview) from Silver and Gold.

``data`` reads the tables into small pandas frames, ``interpret`` turns them into one sentence per
analytics section, ``charts`` draws inline SVG, ``html`` lays out the pages and ``writer`` writes them.
"""
