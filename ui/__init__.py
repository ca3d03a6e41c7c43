"""The Streamlit UI: page scripts in ui/pages/, shared widgets in ui/widgets.py.

Pages only call the domain services (scheduler.<domain>.service and its siblings); they never open transactions
themselves. Navigation is declared once in ui/nav.py.
"""
