"""File names of the DSR-1 verification packages (docs/draw-algorithm.md §3).

Shared by the writer (scheduler/draw/certificate.py) and the verifier
(scheduler/verify.py), which must not import the writer: it imports nothing
but the standard library and the two reference modules.
"""

CERTIFICATE_FILE = "certificate.json"
FRAME_FILE = "frame.csv"
PUBLIC_FRAME_FILE = "public_frame.csv"

# Changes after the draw, with their evidence (written only when there are some):
# entities replaced by reserves (注销、吊销、迁出), in both packages; accepted recusal
# requests and the inspectors they replaced, in the auditor package only.
REPLACEMENTS_FILE = "replacements.json"
RECUSALS_FILE = "recusals.json"
