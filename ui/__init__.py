"""The Streamlit UI: page scripts in ui/pages/, shared widgets in ui/widgets.py.

Pages only call services (scheduler.services.*); they never open transactions
themselves. Navigation is declared once in ui/nav.py.
"""
