"""Interactive apps of the kit (Streamlit pages and the logic they run).

* :mod:`apps.fake_or_real_core` -- assignment 3's detector app: reading audio, P(fake), the score
  over time, training the reference detector (``python -m apps.fake_or_real_core train``).
* ``apps/fake_or_real.py`` -- the Streamlit page over it (``make app``).
"""
