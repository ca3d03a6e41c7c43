"""The app's server: Streamlit (streamlit_app.py) with dsr's own routes beside it (st.App).

`dsr app` runs `streamlit run dsr_server.py`; `uvicorn dsr_server:app` works too. The one route,
/api/session, sets and clears the HttpOnly login cookie (ui/session.py): a Streamlit script runs
over a websocket and cannot set an HttpOnly cookie itself.
"""

import streamlit as st

from ui.session import routes

app = st.App("streamlit_app.py", routes=routes())
